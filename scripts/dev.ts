/**
 * `npm run dev`: the server from the TypeScript sources, restarted by tsx whenever a file it
 * imports changes (and the simulator screen's files). Nothing is built; `npm start` builds dist/.
 */
import { main } from '../src/main.js';

process.exitCode = await main(['serve', ...process.argv.slice(2)]);
