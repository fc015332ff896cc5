import { DEFAULT_STATE_DIR } from './pending-store.js';

/** The usage texts of `cloudpos terminal`, of `terminal run` and of `terminal qr`. */
const RUN_USAGE = `  run --server URL --token DEVICE_TOKEN [--card NUMBER] [--entry CONTACTLESS|CHIP|SWIPE] [--once] [--state DIR]
      [--outcome] [--api-key KEY --terminal ID]
      behaves like the terminal app: loads its configuration, polls for payments, asks for a test
      card (or presents --card by itself) and prints the receipt. --once stops after one finished
      transaction: exit 0 when approved, 1 otherwise. A card result that could not be reported is
      kept in --state DIR (default ${DEFAULT_STATE_DIR}) and sent when the server is back.
      --outcome plays a terminal with its own payment app: the card never leaves the terminal; the
      app decides by the sandbox's test-card table and reports presented + outcome (works against
      a production server).`;

const QR_USAGE = `  qr --token DEVICE_TOKEN [--server URL]
      prints the identifiers JSON the terminal's QR code carries.`;

const TOKEN_NOTE = `--server defaults to http://localhost:8080; --token may come from CLOUDPOS_DEVICE_TOKEN instead
(a token on the command line is visible to other users of the machine).`;

const SESSION_NOTE = `Without a token, against a sandbox server, run takes a customer's --api-key (or CLOUDPOS_API_KEY)
and acts as that customer's only terminal (or --terminal ID) through a simulator session.`;

export const TERMINAL_USAGE = `usage: cloudpos terminal <run|qr> [options]

${RUN_USAGE}
${QR_USAGE}

${TOKEN_NOTE} ${SESSION_NOTE}

Exit codes: 0 approved (or done), 1 declined, cancelled or refused, 64 usage, 130 interrupted.`;

/** The usage of `terminal run` or `terminal qr` alone. */
export const usageOf = (action: 'run' | 'qr') =>
  action === 'run'
    ? `usage: cloudpos terminal run [options]\n\n${RUN_USAGE}\n\n${TOKEN_NOTE}\n${SESSION_NOTE}\n\nExit codes: 0 approved, 1 declined, cancelled or refused, 64 usage, 130 interrupted.`
    : `usage: cloudpos terminal qr [options]\n\n${QR_USAGE}\n\n${TOKEN_NOTE}\n\nExit codes: 0 printed, 1 the server refused the token, 64 usage.`;
