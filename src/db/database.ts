import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DatabaseMissingError, DatabaseUnreachableError } from './failures.js';
import { GroupCommitSqliteDialect } from './sqlite-driver.js';
import { SELF_ANNOUNCING_PREFIX } from './later-migrations.js';
import { migrationProvider } from './migrations.js';
import type { Tables } from './schema.js';
import { ConfigError } from '../config.js';
import { DATABASE_SCHEMES, maskPassword } from './url.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Tables>;
  dialect: Dialect;
  close(): Promise<void>;
  /** PostgreSQL: the application_name of this pool's connections, unique to this process (the
   * change notifications name their writer by it). */
  applicationName?: string;
  /** PostgreSQL's connection pool: connections open, idle, and queries waiting for one. */
  pool?: () => { total: number; idle: number; waiting: number };
}

// int8 (bigint) columns hold epoch milliseconds and minor units: both well inside 2^53.
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface OpenOptions {
  poolSize?: number;
  /** Hears the errors of idle PostgreSQL connections (the server ended one); they are otherwise ignored. */
  onIdleError?: (e: Error) => void;
  /** PostgreSQL: prepare the fixed queries once per connection under a name (PG_PREPARED_STATEMENTS). */
  preparedStatements?: boolean;
  /** PostgreSQL: whether the platform on this pool announces its own changes of transactions
 * after their commit (postgres-notifier.ts), so that the trigger leaves them alone; true by
 * default, false for tools that write without a platform's notifier. */
  announcesChanges?: boolean;
  /** false: a SQLite file that does not exist is not created (DatabaseMissingError); true by default. */
  create?: boolean;
}

export function openDatabase(url: string, options: OpenOptions = {}): Database {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length) || ':memory:';
    if (path !== ':memory:') {
      if (options.create === false && !existsSync(path)) throw new DatabaseMissingError(resolve(path));
      mkdirSync(dirname(path), { recursive: true });
    }
    const sqlite = new SQLite(path);
    // WAL with synchronous=FULL: durable commits, readers never block the writer.
    // Wait for a lock rather than fail at once; first, since changing the journal mode takes one.
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    // The savepoints of a group commit (sqlite-driver.ts) journal in memory, not in a temporary file.
    sqlite.pragma('temp_store = MEMORY');
    const db = new Kysely<Tables>({ dialect: new GroupCommitSqliteDialect(sqlite, path === ':memory:' ? undefined : readerOf(path)) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Unique to this process; the prefix tells the trigger that this instance announces its own
    // changes (postgres-notifier.ts).
    const applicationName = `${options.announcesChanges === false ? 'cloudpos ' : SELF_ANNOUNCING_PREFIX}${randomUUID().slice(0, 8)}`;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      types: pgTypes,
      application_name: applicationName,
      connectionTimeoutMillis: connectTimeoutMs(url),
      ...(options.preparedStatements !== false && { Client: PreparingClient }),
    });
    // An idle connection the server ends (a restart, a failover, a dropped database) makes the pool
    // emit 'error'; unheard, that would end the process. The pool has already let that client go,
    // and the next query opens a new one.
    pool.on('error', (e) => options.onIdleError?.(e));
    const open = new Set<pg.PoolClient>();
    const gone = new Set<() => void>();
    pool.on('connect', (client) => {
      open.add(client);
      // A connection lost while a query runs on it makes its client emit 'error' while checked
      // out, where the pool listens no more: unheard, that would end the process. The query fails
      // with the same error, which has no code when the server just went away: it gets one, so
      // that the request is answered 503, not 500.
      client.on('error', (e: Error & { code?: string }) => {
        e.code ??= 'ECONNRESET';
      });
    });
    pool.on('remove', (client) => {
      open.delete(client);
      if (open.size === 0) for (const resolve of gone) resolve();
    });
    // A connection that cannot be had in time (or that the server ends while it opens) fails with
    // an error the driver gives no code: DatabaseUnreachableError says what it is.
    const connect = async () => {
      try {
        return await pool.connect();
      } catch (e) {
        throw (e as { code?: unknown }).code === undefined ? new DatabaseUnreachableError(e) : e;
      }
    };
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: { connect, end: () => pool.end() } }) });
    return {
      db,
      dialect: 'postgres',
      applicationName,
      // pool.end() resolves once its clients are told to end, not once their connections are
      // closed: wait for those too, so that nothing of this pool is still connected afterwards.
      close: async () => {
        await db.destroy();
        if (open.size > 0) await new Promise<void>((resolve) => gone.add(resolve));
      },
      pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    };
  }
  throw new ConfigError(`DATABASE_URL=${JSON.stringify(maskPassword(url))}: unsupported; use ${DATABASE_SCHEMES}`);
}

/** The second connection to a SQLite file, for selects outside transactions (sqlite-driver.ts):
 * it writes nothing. */
function readerOf(path: string): SQLite.Database {
  const reader = new SQLite(path);
  reader.pragma('busy_timeout = 5000');
  reader.pragma('query_only = ON');
  return reader;
}

/** How long opening a PostgreSQL connection, or waiting for one of the pool's, may take: the URL's
 * `connect_timeout` in seconds, as libpq reads it (0: no limit), else 10 s. Without a limit, a host
 * that drops packets holds every request (and a start) for the kernel's two minutes. */
function connectTimeoutMs(url: string): number {
  const given = new URL(url).searchParams.get('connect_timeout');
  const seconds = given === null || given.trim() === '' ? NaN : Number(given);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 10) * 1000;
}

/** PostgreSQL parses and plans every unnamed query again. The platform's queries are few and
 * fixed, so each connection prepares a query once under a name derived from its text and then
 * only binds and executes it. Behind PgBouncer in transaction mode this needs its
 * max_prepared_statements (1.21 and later); PG_PREPARED_STATEMENTS=false turns it off. Queries with many parameters (batch writes of varying size) stay
 * unnamed, so the statements a connection keeps stay bounded. */
class PreparingClient extends pg.Client {
  private static readonly MAX_PARAMETERS = 32;
  private static readonly names = new Map<string, string>();

  override query(config: unknown, values?: unknown, callback?: unknown): never {
    if (typeof config === 'string' && Array.isArray(values) && values.length <= PreparingClient.MAX_PARAMETERS && typeof callback !== 'function') {
      let name = PreparingClient.names.get(config);
      if (!name) {
        name = `cp_${createHash('sha1').update(config).digest('hex').slice(0, 20)}`;
        if (PreparingClient.names.size < 2_000) PreparingClient.names.set(config, name);
      }
      return (super.query as (c: unknown) => never)({ name, text: config, values });
    }
    return (super.query as (c: unknown, v?: unknown, cb?: unknown) => never)(config, values, callback);
  }
}

export async function migrateToLatest(store: Database): Promise<void> {
  // Two processes starting on one new SQLite file race here (Kysely takes no migration lock on
  // SQLite): the loser fails on a table the winner created, and its next look finds all applied.
  for (let attempt = 1; ; attempt++) {
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (!error && !failed) return;
    // Nothing ran: the database could not be reached or read. That is no race: the caller hears
    // the driver's own error (its code says what happened).
    if (!failed) throw error;
    if (attempt >= 3) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

/** A unique index refused the write: recognised by the drivers' codes, not by their messages. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Answers when the database does (health checks). */
export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}
