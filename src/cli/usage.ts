/** The usage texts `main` prints itself, kept free of imports so that `--help` and `--version`
 * load nothing else. The admin, terminal and acquirer commands print their own. */

export const EXIT_CODES_TEXT = `exit codes: 0 done; 1 refused or failed; 64 usage; 66 no such SQLite file (admin without --create);
  68 HOST does not resolve; 69 the database cannot be reached or does not exist; 70 unexpected error;
  75 the port is in use; 77 not allowed to listen on the port; 78 a bad setting or migrations behind.`;

export const USAGE = `usage: cloudpos <command> [options]

  serve                 start the platform (settings from the environment: PORT, HOST, DATABASE_URL, …)
  migrate               apply the database migrations this version knows
  admin …               onboard customers, merchants, stores, terminals and API keys
  terminal run|qr …     the terminal simulator
  acquirer check …      run the Acquirer interface's contract checks against a connector

  cloudpos <command> --help    that command's usage
  cloudpos --version           the version

${EXIT_CODES_TEXT}`;

export const SERVE_USAGE = `usage: cloudpos serve

  Starts the platform: the MerchantAPI, the device API, /docs and, in the sandbox, /simulator.
  It takes no options: every setting comes from the environment (the README's "Configuration"),
  for example PORT (8080), HOST (0.0.0.0), DATABASE_URL (sqlite:./data/cloudpos.sqlite),
  CLOUDPOS_ENV (sandbox or production), PUBLIC_URL, LOG_LEVEL.

  In the sandbox it applies pending migrations at start and, on an empty database, onboards a demo
  and prints its secrets once. In production it starts only on a database that carries every
  migration of this version: run \`cloudpos migrate\` first (exit code 78 otherwise).

${EXIT_CODES_TEXT}`;

export const MIGRATE_USAGE = `usage: cloudpos migrate [--json]

  Applies the migrations this version knows and the database DATABASE_URL names has not applied
  (a SQLite file that does not exist yet is created). Safe to run again, and beside running
  servers of the same version. Prints on stderr which database it acts on; --json prints one JSON
  object on stdout: {"database", "applied": [names applied now], "migrations": [every name]}.

${EXIT_CODES_TEXT}`;
