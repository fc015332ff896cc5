import { readFileSync } from 'node:fs';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { firstRunBanner, onboardDemoIfEmpty } from './first-run.js';
import { migrateToLatest, openDatabase } from './db/database.js';

/** Starts the platform: migrations, the HTTP server, graceful shutdown. */
export async function serve(config: Config, io: { out: (line: string) => void }) {
  const store = openDatabase(config.DATABASE_URL);
  await migrateToLatest(store);
  // Before listening, so the demo terminal exists by the time anyone can call.
  const demo = config.CLOUDPOS_ENV === 'sandbox' ? await onboardDemoIfEmpty(store) : undefined;
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
  app.server.keepAliveTimeout = 65_000;
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const base = `${scheme}://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  io.out(`cloudpos listening on ${base} (${store.dialect}, ${config.CLOUDPOS_ENV})\nAPI reference: ${base}/docs`);
  if (config.CLOUDPOS_ENV === 'sandbox') io.out(`Terminal simulator: ${base}/simulator`);
  // Straight to stdout, not through the logger: shown whatever the log level, and only this once.
  if (demo) io.out(firstRunBanner(demo, base));

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await store.close();
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  return { app, store, base, shutdown };
}
