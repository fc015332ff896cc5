import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { migrateToLatest, openDatabase, type Database } from '../db/database.js';
import { explainDatabaseFailure } from '../db/failures.js';
import { pendingMigrations } from '../db/migration-status.js';
import { describeDatabase, sqliteFileOf } from '../db/url.js';
import { EXIT, ExitError } from '../exit-codes.js';
import { ApiKeyService } from '../services/api-keys.js';
import { OnboardingService } from '../services/onboarding.js';
import { ADMIN_COMMANDS, ADMIN_USAGE, adminUsageOf } from './admin-usage.js';
import { OPTIONS, runAdminCommand, UsageError } from './admin-commands.js';

export { ADMIN_USAGE } from './admin-usage.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Options every admin command takes. */
const COMMON_OPTIONS = ['json', 'help', 'create'];

/**
 * Runs one admin command; prints one JSON object with --json, readable lines otherwise. Says on
 * stderr which database it acts on; never creates a SQLite file unless asked to (--create).
 * `config` is read only once the command line is known to be right (a --help needs no settings).
 */
export async function runAdmin(argv: string[], config: Config | (() => Config | Promise<Config>), io: Io): Promise<number> {
  const usage = (why: string, text = ADMIN_USAGE) => {
    io.err(`${why}\n\n${text}`);
    return EXIT.USAGE;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    (values.help ? io.out : io.err)(ADMIN_USAGE);
    return values.help ? EXIT.OK : EXIT.USAGE;
  }
  const command = positionals.slice(0, 2).join(' ');
  const spec = ADMIN_COMMANDS[command];
  if (values.help) {
    const text = adminUsageOf(positionals.slice(0, 2));
    if (!text) return usage(`unknown command "${command}"`);
    io.out(text);
    return EXIT.OK;
  }
  if (!spec) return usage(`unknown command "${command}"`, adminUsageOf(positionals.slice(0, 1)) ?? ADMIN_USAGE);
  if (positionals.length > 2) return usage(`unexpected argument "${positionals[2]}"`, adminUsageOf(positionals.slice(0, 2)));
  const foreign = Object.keys(values).find((o) => !COMMON_OPTIONS.includes(o) && !spec.options.includes(o));
  if (foreign) return usage(`--${foreign} is not an option of "${command}"`, adminUsageOf(positionals.slice(0, 2)));

  const settings = typeof config === 'function' ? await config() : config;
  const store = await openForAdmin(settings, values.create === true, io);
  try {
    const outcome = await runAdminCommand(command, values, new OnboardingService(store), new ApiKeyService(store, Date.now, 0));
    if ('error' in outcome) {
      if (values.json) io.out(JSON.stringify(outcome));
      io.err(`error: ${outcome.detail}`);
      return EXIT.FAILED;
    }
    io.out(values.json ? JSON.stringify(outcome.json) : outcome.text);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message, adminUsageOf(positionals.slice(0, 2)));
    throw explainDatabaseFailure(e, settings.DATABASE_URL) ?? e;
  } finally {
    await store.close();
  }
}

/** The server's database, named on stderr. The sandbox migrates it as `serve` does; in production
 * only `cloudpos migrate` does (and a database this command has just created). */
async function openForAdmin(config: Config, create: boolean, io: Io): Promise<Database> {
  const url = config.DATABASE_URL;
  const file = sqliteFileOf(url);
  const isNew = url.startsWith('sqlite:') && file !== undefined && !existsSync(file);
  io.err(`using ${describeDatabase(url)}${isNew && create ? ' (new file)' : ''}`);
  let store: Database | undefined;
  try {
    store = openDatabase(url, { poolSize: 2, create, announcesChanges: false, preparedStatements: config.PG_PREPARED_STATEMENTS });
    if (config.CLOUDPOS_ENV === 'sandbox' || isNew) {
      await migrateToLatest(store);
      return store;
    }
    const pending = await pendingMigrations(store);
    if (pending.length > 0) {
      throw new ExitError(`the database ${describeDatabase(url)} is behind this version (${pending.join(', ')} not applied): run \`cloudpos migrate\` first`, EXIT.CONFIG);
    }
    return store;
  } catch (e) {
    await store?.close().catch(() => {});
    throw explainDatabaseFailure(e, url) ?? e;
  }
}
