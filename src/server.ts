import { readFileSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { firstRunBanner, onboardDemoIfEmpty } from './first-run.js';
import { migrateToLatest, openDatabase } from './db/database.js';

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
  const store = openDatabase(config.DATABASE_URL, { onIdleError: (e) => onIdleError(e), preparedStatements: config.PG_PREPARED_STATEMENTS });
  await migrateToLatest(store);
  const app = await buildApp({
    config,
    store,
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: ['req.headers["api-key"]', 'req.headers.authorization'], censor: '[secret]' },
    },
    ...(config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { https: { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) } }
      : {}),
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
    throw e;
  }
  // Listening first, then the demo: nobody can call with its secrets before they are printed.
  const demo = config.CLOUDPOS_ENV === 'sandbox' ? await onboardDemoIfEmpty(store) : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const base = `${scheme}://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  io.out(`cloudpos listening on ${base} (${store.dialect}, ${config.CLOUDPOS_ENV})\nAPI reference: ${base}/docs`);
  if (config.CLOUDPOS_ENV === 'sandbox') io.out(`Terminal simulator: ${base}/simulator`);
  // Straight to stdout, not through the logger: shown whatever the log level, and only this once.
  if (demo) io.out(firstRunBanner(demo, base));

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
