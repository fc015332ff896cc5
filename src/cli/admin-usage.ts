/** The admin commands, their options and what they print: the usage texts and the check that an
 * option belongs to the command it is given to both come from here. */
export interface AdminCommand {
  /** the command line after `cloudpos admin <resource> <action>` */
  args: string;
  does: string;
  /** the options the command takes, besides --json, --create and --help */
  options: readonly string[];
}

export const ADMIN_COMMANDS: Record<string, AdminCommand> = {
  'customer create': { args: '--name NAME', does: 'creates a customer; --json prints {"id", "name", …}', options: ['name'] },
  'customer list': { args: '', does: 'lists the customers', options: [] },
  'merchant create': { args: '--customer ID --name NAME', does: 'creates a merchant of a customer; --json prints {"id", …}', options: ['customer', 'name'] },
  'merchant list': { args: '[--customer ID]', does: 'lists the merchants (of one customer)', options: ['customer'] },
  'store create': {
    args: '--merchant ID --name NAME [--timezone TZ] [--currency EUR] [--address TEXT] [--receipt-width 24]',
    does: 'creates a store of a merchant; --json prints {"uuid", …}',
    options: ['merchant', 'name', 'timezone', 'currency', 'address', 'receipt-width'],
  },
  'store list': { args: '[--merchant ID]', does: 'lists the stores (of one merchant)', options: ['merchant'] },
  'terminal register': {
    args: '--store UUID --manufacturer M --model MODEL --serial S',
    does: 'registers a terminal in a store and issues its device token, shown once; --json prints {"id": "M-MODEL-S", "device_token", …}',
    options: ['store', 'manufacturer', 'model', 'serial'],
  },
  'terminal list': { args: '[--store UUID]', does: 'lists the terminals (of one store) and when each was last seen', options: ['store'] },
  'terminal rotate-token': {
    args: '--id M-MODEL-S',
    does: 'issues a new device token, shown once; the previous one stops working; --json prints {"id", "device_token"}',
    options: ['id'],
  },
  'apikey issue': {
    args: '--customer ID --label LABEL [--valid-from ISO] [--valid-until ISO]',
    does: 'issues an API key, shown once; --json prints {"id", "label", "apikey"}',
    options: ['customer', 'label', 'valid-from', 'valid-until'],
  },
  'apikey list': { args: '--customer ID', does: "lists a customer's API keys (never the keys themselves)", options: ['customer'] },
  'apikey revoke': {
    args: '--customer ID --id KEY_ID [--force]',
    does: "revokes an API key; refuses a customer's last valid key without an end date unless --force; --json prints {\"id\", \"revoked\": true}",
    options: ['customer', 'id', 'force'],
  },
};

const COMMON = `The database is the one DATABASE_URL names (default sqlite:./data/cloudpos.sqlite), the server's;
the command says on stderr which one it uses. A SQLite file that does not exist is created only
with --create (a mistyped path must not become a new, empty database). --json prints exactly one
JSON object on stdout. Exit codes: 0 done, 1 refused ({"error", "detail"} with --json), 64 usage,
66 no such SQLite file, 69 the database cannot be reached, 78 a bad setting or migrations behind.`;

export const ADMIN_USAGE = `usage: cloudpos admin <resource> <action> [options] [--json] [--create]

${Object.entries(ADMIN_COMMANDS)
  .map(([name, c]) => `  ${name}${c.args ? ` ${c.args}` : ''}`)
  .join('\n')}

${COMMON}`;

/** The usage of one command (`customer create`), or of one resource's commands (`customer`). */
export function adminUsageOf(words: string[]): string | undefined {
  const name = words.join(' ');
  const one = ADMIN_COMMANDS[name];
  if (one) return `usage: cloudpos admin ${name}${one.args ? ` ${one.args}` : ''} [--json] [--create]\n\n  ${one.does}\n\n${COMMON}`;
  const of = Object.entries(ADMIN_COMMANDS).filter(([n]) => words.length === 1 && n.startsWith(`${name} `));
  if (of.length === 0) return undefined;
  return `usage: cloudpos admin ${name} <action> [options] [--json] [--create]\n\n${of.map(([n, c]) => `  ${n}${c.args ? ` ${c.args}` : ''}\n      ${c.does}`).join('\n')}\n\n${COMMON}`;
}
