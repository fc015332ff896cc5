import { ACQUIRER_USAGE, runAcquirerCommand } from './cli/acquirer-check.js';
import { runAdmin, ADMIN_USAGE } from './cli/admin.js';
import { ConfigError, loadConfig } from './config.js';
import { serve } from './server.js';
import { runTerminalCommand, TERMINAL_USAGE } from './simulator/terminal-cli.js';

const USAGE = `usage: cloudpos <command>

  serve                 start the platform (PORT, HOST, DATABASE_URL, … from the environment)
  admin …               onboard customers, merchants, stores, terminals and API keys
  terminal run|qr …     the terminal simulator
  acquirer check …      run the Acquirer interface's contract checks against a connector

${ADMIN_USAGE}

${ACQUIRER_USAGE}

${TERMINAL_USAGE}`;

const io = { out: (line: string) => process.stdout.write(`${line}\n`), err: (line: string) => process.stderr.write(`${line}\n`) };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        await serve(loadConfig(), io);
        return 0;
      }
      case 'admin':
        return await runAdmin(rest, loadConfig(), io);
      case 'acquirer':
        return await runAcquirerCommand(rest, io);
      case 'terminal':
        return await runTerminalCommand(rest, { ...io, color: process.stdout.isTTY === true && !process.env.NO_COLOR });
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 78;
    }
    throw e;
  }
}
