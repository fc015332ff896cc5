import { createServer, connect, type Server, type Socket } from 'node:net';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { merchantApi, isProblem } from '../support/http.js';
import { onboard } from '../support/platform.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

/** A TCP relay to PostgreSQL that can stop answering: new connections are then held silent (as a
 * host dropping packets looks) and the ones open are cut. */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  let silent = false;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (silent) return;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    goSilent() {
      silent = true;
      for (const s of sockets) s.destroy();
    },
    answerAgain() {
      silent = false;
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(!inject('pgAvailable'))('a database that stops answering (PostgreSQL through a relay)', () => {
  let db: TestDatabase;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let app: FastifyInstance;
  let store: ReturnType<typeof openDatabase>;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const target = new URL(db.url);
    relay = await startRelay(target);
    const through = new URL(db.url);
    through.hostname = '127.0.0.1';
    through.port = String(relay.port);
    through.searchParams.set('connect_timeout', '1');
    store = openDatabase(through.toString(), { poolSize: 2 });
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', AUTH_CACHE_MS: '0', DATABASE_URL: through.toString() }), store });
    await app.ready();
  });
  afterAll(async () => {
    relay?.answerAgain();
    await app?.close();
    await store?.close();
    await relay?.close();
    await db?.drop();
  });

  it('answers 503 problem+json with Retry-After while it is silent, and serves again once it answers', async () => {
    const customer = await onboard(app);
    const api = merchantApi(app, customer.apiKey);
    expect((await api('GET', '/stores')).statusCode).toBe(200);

    relay.goSilent();
    // The open connections are cut, and new ones get no answer within connect_timeout (1 s).
    for (const [method, url, body] of [
      ['GET', '/stores'],
      ['POST', `/terminals/${customer.terminals[0]!.id}/transactions`, { type: 'PURCHASE', merchant_order_reference: 'down-1', amount: { value: 1, currency: 'EUR' } }],
    ] as const) {
      const res = await api(method, url, body);
      expect(res.statusCode, res.body).toBe(503);
      expect(isProblem(res)).toBe(true);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ status: 503, title: 'Service Unavailable' });
      expect(res.body).not.toMatch(/relay|127\.0\.0\.1|timeout expired|ETIMEDOUT/);
    }

    relay.answerAgain();
    expect((await api('GET', '/stores')).statusCode).toBe(200);
  });
});

describe('a SQLite database another process holds locked past busy_timeout', () => {
  let db: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', AUTH_CACHE_MS: '0', DATABASE_URL: db.url }), store: db.store });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers a write 503 problem+json with Retry-After, and serves again once the lock is let go', async () => {
    const customer = await onboard(app);
    const api = merchantApi(app, customer.apiKey);
    const create = (ref: string) => api('POST', `/terminals/${customer.terminals[0]!.id}/transactions`, { type: 'PURCHASE', merchant_order_reference: ref, amount: { value: 1, currency: 'EUR' } });
    // Another process (here: another connection) holds the write lock for longer than the
    // platform's busy_timeout (5 s).
    const other = new SQLite(db.url.slice('sqlite:'.length));
    other.exec('begin immediate');
    try {
      const res = await create('locked-1');
      expect(res.statusCode, res.body).toBe(503);
      expect(isProblem(res)).toBe(true);
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect((await create('locked-2')).statusCode).toBe(201);
  }, 30_000);
});
