import { readFileSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { firstRunBanner, onboardDemoIfEmpty } from './first-run.js';
import { migrateToLatest, openDatabase, type Database } from './db/database.js';
import { DatabaseMissingError, explainDatabaseFailure } from './db/failures.js';
import { pendingMigrations } from './db/migration-status.js';
import { describeDatabase } from './db/url.js';
import { EXIT, ExitError } from './exit-codes.js';

/** Connections the kernel queues before they are accepted: a fleet of terminals reconnecting at
 * once (after a restart, behind a proxy that was down) outruns one accept loop, and past Node's
 * default of 511 the kernel drops or resets them. Capped by net.core.somaxconn. */
const LISTEN_BACKLOG = 4096;

/** How often idle keep-alive connections are closed while shutting down: a connection whose
 * last request finishes during the shutdown is closed as soon as it is idle. */
const IDLE_SWEEP_MS = 100;

/** Starts the platform: migrations, the HTTP server, graceful shutdown. */
export async function serve(config: Config, io: { out: (line: string) => void }) {
  let onIdleError = (_e: Error) => {};
  const store = await openForServing(config, (e) => onIdleError(e));
  const app = await buildApp({
    config,
    store,
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: ['req.headers["api-key"]', 'req.headers.authorization'], censor: '[secret]' },
    },
    ...(config.TLS_CERT_FILE && config.TLS_KEY_FILE ? { https: { cert: readSetting(config, 'TLS_CERT_FILE'), key: readSetting(config, 'TLS_KEY_FILE') } } : {}),
  }).catch(async (e: unknown) => {
    await store.close().catch(() => {});
    throw e;
  });
  onIdleError = (e) => app.log.warn({ err: e }, 'the database ended an idle connection; the next query opens a new one');
  try {
    await app.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG });
    if (config.METRICS_PORT !== undefined) await app.metrics.listen(config.METRICS_PORT, config.HOST);
  } catch (e) {
    // A port already taken onboards nothing: the demo's secrets are printed only once, so they
    // must never be created by a process that cannot serve them.
    await app.close().catch(() => {});
    await store.close().catch(() => {});
    throw explainListenFailure(e, config) ?? e;
  }
  // Listening first, then the demo: nobody can call with its secrets before they are printed.
  const demo = config.CLOUDPOS_ENV === 'sandbox' ? await onboardDemoIfEmpty(store) : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const base = `${scheme}://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  io.out(`cloudpos listening on ${base} (${store.dialect}, ${config.CLOUDPOS_ENV})\nDatabase: ${describeDatabase(config.DATABASE_URL)}\nAPI reference: ${base}/docs`);
  if (config.CLOUDPOS_ENV === 'sandbox') io.out(`Terminal simulator: ${base}/simulator`);
  // Straight to stdout, not through the logger: shown whatever the log level, and only this once.
  if (demo) io.out(firstRunBanner(demo, base, config.DATABASE_URL));

  // SIGTERM/SIGINT: stop accepting, answer held polls 204 (preClose), let in-flight requests end,
  // close idle connections, and exit by SHUTDOWN_TIMEOUT_MS whatever the clients do. A second
  // signal exits at once (close-with-grace).
  const shutdown = async (signal?: string, err?: Error) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
    }
    await store.close();
  };
  const grace = closeWithGrace(
    {
      delay: config.SHUTDOWN_TIMEOUT_MS,
      logger: false,
      onTimeout: (ms: number) => app.log.warn(`shutdown took longer than SHUTDOWN_TIMEOUT_MS=${ms}: exiting now`),
      onSecondSignal: (signal: string) => app.log.warn({ signal }, 'second signal: exiting now'),
    },
    async ({ signal, err }) => shutdown(signal, err),
  );
  return { app, store, base, shutdown: () => grace.close() };
}

/**
 * The database, ready to serve: the sandbox applies pending migrations; production refuses to start
 * on a database whose migrations are behind (`cloudpos migrate` applies them, once, before the
 * instances of a new version start) and never creates a SQLite file.
 */
async function openForServing(config: Config, onIdleError: (e: Error) => void): Promise<Database> {
  const production = config.CLOUDPOS_ENV === 'production';
  let store: Database | undefined;
  let pending: string[] = [];
  try {
    store = openDatabase(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE, onIdleError, create: !production, preparedStatements: config.PG_PREPARED_STATEMENTS });
    if (production) pending = await pendingMigrations(store);
    else await migrateToLatest(store);
  } catch (e) {
    await store?.close().catch(() => {});
    if (production && e instanceof DatabaseMissingError) {
      throw new ExitError(`no database at ${describeDatabase(config.DATABASE_URL)} yet: run \`cloudpos migrate\` to create it (DATABASE_URL)`, EXIT.CONFIG);
    }
    throw explainDatabaseFailure(e, config.DATABASE_URL) ?? e;
  }
  if (pending.length > 0) {
    await store.close().catch(() => {});
    throw new ExitError(
      `the database ${describeDatabase(config.DATABASE_URL)} is behind this version (${pending.length} migration${pending.length === 1 ? '' : 's'} not applied: ${pending.join(', ')}): run \`cloudpos migrate\` first`,
      EXIT.CONFIG,
    );
  }
  return store;
}

/** A file a setting names, or one line naming the setting. */
function readSetting(config: Config, key: 'TLS_CERT_FILE' | 'TLS_KEY_FILE'): Buffer {
  try {
    return readFileSync(config[key]!);
  } catch (e) {
    throw new ExitError(`${key}=${JSON.stringify(config[key])}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXIT.CONFIG);
  }
}

/** Why the server could not listen, as one line naming the setting, with its exit code. */
function explainListenFailure(e: unknown, config: Config): ExitError | undefined {
  const err = e as NodeJS.ErrnoException & { port?: number };
  const metrics = config.METRICS_PORT !== undefined && err.port === config.METRICS_PORT && err.port !== config.PORT;
  const port = metrics ? `METRICS_PORT=${config.METRICS_PORT}` : `PORT=${config.PORT}`;
  switch (err?.code) {
    case 'EADDRINUSE':
      return new ExitError(`${port} on HOST=${config.HOST} is in use by another process: stop it or choose another port`, EXIT.PORT_IN_USE);
    case 'EACCES':
      return new ExitError(`${port}: not allowed to listen on it (ports below 1024 need privileges): choose a port above 1023, behind a proxy`, EXIT.NO_PERMISSION);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ExitError(`HOST=${JSON.stringify(config.HOST)} does not resolve to an address (${err.code}): use a host name this machine knows, or 0.0.0.0 for every interface`, EXIT.NO_HOST);
    case 'EADDRNOTAVAIL':
      return new ExitError(`HOST=${JSON.stringify(config.HOST)} is not an address of this machine: use one of its addresses, or 0.0.0.0 for every interface`, EXIT.NO_HOST);
    default:
      return undefined;
  }
}
