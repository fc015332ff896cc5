import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { InProcessNotifier } from '../../src/services/notifier.js';
import { merchantApi, isProblem } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { createTestDatabase, describeEachStore, type TestDatabase } from '../support/stores.js';
import { deviceApi, pay, purchase } from '../support/terminal.js';
import { spawnCloudpos } from '../simulator/process.js';

/** The value of one sample in Prometheus text, e.g. `cloudpos_held_polls` or `x{a="b"}`. */
function sample(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === name) return Number(line.slice(at + 1));
  }
  return undefined;
}

const scrape = async (app: FastifyInstance) => {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
};

describeEachStore('/metrics', (dialect) => {
  const ctx = usePlatform(dialect, { env: { LONG_POLL_MAX_S: '10' } });

  it('counts each request once, by route pattern and status, with latency histograms', async () => {
    const { app } = ctx();
    const c = await onboard(app);
    const api = merchantApi(app, c.apiKey);
    const before = await scrape(app);
    const grown = (text: string, series: string) => (sample(text, series) ?? 0) - (sample(before, series) ?? 0);
    expect((await api('GET', '/terminals')).statusCode).toBe(200);
    expect((await api('GET', '/terminals')).statusCode).toBe(200);
    expect((await api('GET', '/terminals/NO-SUCH-TERMINAL/transactions/1')).statusCode).toBe(404);
    expect((await api('GET', '/nowhere')).statusCode).toBe(404);
    expect((await api('DELETE', '/terminals')).statusCode).toBe(405);
    expect((await app.inject({ method: 'HEAD', url: '/terminals', headers: { 'api-key': c.apiKey } })).statusCode).toBe(200);
    const text = await scrape(app);
    expect(grown(text, 'cloudpos_http_requests_total{method="GET",route="/terminals",status="200"}')).toBe(2);
    // the pattern, not the path: ids never become label values
    expect(grown(text, 'cloudpos_http_requests_total{method="GET",route="/terminals/:terminalId/transactions/:transactionId",status="404"}')).toBe(1);
    expect(text).not.toContain('NO-SUCH-TERMINAL');
    expect(grown(text, 'cloudpos_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(1);
    expect(grown(text, 'cloudpos_http_requests_total{method="DELETE",route="(unmatched)",status="405"}')).toBe(1);
    expect(grown(text, 'cloudpos_http_requests_total{method="HEAD",route="/terminals",status="200"}')).toBe(1);
    expect(grown(text, 'cloudpos_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/terminals",status="200"}')).toBe(2);
    expect(grown(text, 'cloudpos_http_request_duration_seconds_count{method="GET",route="/terminals",status="200"}')).toBe(2);
    // buckets are cumulative: the largest finite one holds both, the first no more than it
    expect(grown(text, 'cloudpos_http_request_duration_seconds_bucket{le="300",method="GET",route="/terminals",status="200"}')).toBe(2);
    expect(grown(text, 'cloudpos_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/terminals",status="200"}')).toBeLessThanOrEqual(2);
    expect(grown(text, 'cloudpos_http_request_duration_seconds_sum{method="GET",route="/terminals",status="200"}')).toBeGreaterThan(0);
    // the process's own metrics come along
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('shows held polls, terminals online, acquirer latency', async () => {
    const { app } = ctx();
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const device = deviceApi(app, t.deviceToken);
    const before = await scrape(app);
    const held = device.next(10);
    await expect.poll(async () => sample(await scrape(app), 'cloudpos_held_polls')).toBe((sample(before, 'cloudpos_held_polls') ?? 0) + 1);
    expect(sample(await scrape(app), 'cloudpos_terminals_online')).toBeGreaterThanOrEqual(1);

    const created = await merchantApi(app, c.apiKey)('POST', `/terminals/${t.id}/transactions`, purchase(12.5, 'metrics-1'));
    expect(created.statusCode).toBe(201);
    expect((await held).statusCode).toBe(200);
    expect((await device.card(created.json().id)).json()).toMatchObject({ status: 'CLEARED', result: 'APPROVED' });

    const text = await scrape(app);
    expect(sample(text, 'cloudpos_held_polls')).toBe(sample(before, 'cloudpos_held_polls') ?? 0);
    expect(sample(text, 'cloudpos_acquirer_request_duration_seconds_count{operation="authorize",outcome="APPROVED"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'cloudpos_http_requests_total{method="GET",route="/device/v1/transactions/next",status="200"}')).toBeGreaterThanOrEqual(1);
  });

  it('counts each status a transaction comes to, and shows the open ones by stage', async () => {
    const { app } = ctx();
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const api = merchantApi(app, c.apiKey);
    let last = await scrape(app);
    // What each series grew by since the last look.
    const step = async () => {
      const [was, text] = [last, await scrape(app)];
      last = text;
      return (series: string) => (sample(text, series) ?? 0) - (sample(was, series) ?? 0);
    };
    const total = (type: string, status: string) => `cloudpos_transactions_total{type="${type}",status="${status}"}`;
    const open = (type: string, stage: string) => `cloudpos_transactions_open{type="${type}",stage="${stage}"}`;

    // A purchase, then another to the same terminal before it is fetched: the first gives way.
    const first = await api('POST', `/terminals/${t.id}/transactions`, purchase(3, 'metrics-a'));
    expect(first.statusCode).toBe(201);
    let grown = await step();
    expect(grown(total('PURCHASE', 'CREATED'))).toBe(1);
    expect(grown(open('PURCHASE', 'PENDING'))).toBe(1);
    const second = await api('POST', `/terminals/${t.id}/transactions`, purchase(4, 'metrics-b'));
    expect(second.statusCode).toBe(201);
    grown = await step();
    expect(grown(total('PURCHASE', 'CREATED'))).toBe(1);
    expect(grown(total('PURCHASE', 'CANCELLED'))).toBe(1);
    expect(grown(open('PURCHASE', 'PENDING'))).toBe(0);

    // Fetched: still CREATED for the customer, RETRIEVED for the terminal; then cleared.
    const device = deviceApi(app, t.deviceToken);
    expect((await device.next()).json().id).toBe(second.json().id);
    grown = await step();
    expect(grown(total('PURCHASE', 'CREATED'))).toBe(0);
    expect(grown(open('PURCHASE', 'PENDING'))).toBe(-1);
    expect(grown(open('PURCHASE', 'RETRIEVED'))).toBe(1);
    expect((await device.card(second.json().id)).json()).toMatchObject({ status: 'CLEARED' });
    grown = await step();
    expect(grown(total('PURCHASE', 'CLEARED'))).toBe(1);
    expect(grown(open('PURCHASE', 'RETRIEVED'))).toBe(-1);

    // A pre-authorization: authorized, then captured.
    const { created, finished } = await pay(app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: 'metrics-c', amount: { value: 20, currency: 'EUR' } });
    expect(finished.json()).toMatchObject({ status: 'AUTHORIZED' });
    grown = await step();
    expect(grown(total('PRE_AUTHORIZATION', 'CREATED'))).toBe(1);
    expect(grown(total('PRE_AUTHORIZATION', 'AUTHORIZED'))).toBe(1);
    expect((await api('POST', `${String(created.headers.location)}/capture`, { amount: { value: 15, currency: 'EUR' } })).statusCode).toBe(200);
    grown = await step();
    expect(grown(total('PRE_AUTHORIZATION', 'CLEARED'))).toBe(1);
    expect(grown(total('PRE_AUTHORIZATION', 'AUTHORIZED'))).toBe(0);
  });

  it.runIf(dialect === 'postgres')('shows the PostgreSQL pool: total, idle and waiting connections', async () => {
    const text = await scrape(ctx().app);
    expect(sample(text, 'cloudpos_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'cloudpos_db_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'cloudpos_db_pool_connections{state="waiting"}')).toBeGreaterThanOrEqual(0);
  });

  it('stays out of the OpenAPI document, as /readyz does', async () => {
    const doc = (await ctx().app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
    expect(Object.keys(doc.paths)).not.toContain('/readyz');
    expect(Object.keys(doc.paths)).not.toContain('/healthz');
  });
});

describeEachStore('/readyz', (dialect) => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }), store: db.store });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers 200 when the database answers and carries every migration', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('answers 503 problem+json naming the migrations not applied and the command', async () => {
    const { db: kysely } = db.store;
    const last = await kysely.selectFrom('kysely_migration' as never).select(sql<string>`name`.as('name')).orderBy(sql`name`, 'desc').executeTakeFirstOrThrow();
    await sql`delete from kysely_migration where name = ${last.name}`.execute(kysely);
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(isProblem(res)).toBe(true);
      expect(res.json()).toMatchObject({ status: 503, pending_migrations: [last.name], request_id: res.headers['request-id'] });
      expect(res.json().detail).toContain('cloudpos migrate');
      // liveness is another question: the process and its database are fine
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await sql`insert into kysely_migration (name, timestamp) values (${last.name}, ${new Date().toISOString()})`.execute(kysely);
    }
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe.skipIf(!inject('pgAvailable'))('/readyz without its database [postgres]', () => {
  it('answers 503 problem+json when the database does not answer', async () => {
    const store = openDatabase('postgres://postgres@127.0.0.1:1/cloudpos_nowhere');
    const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/cloudpos_nowhere' }), store, notifier: new InProcessNotifier() });
    try {
      await app.ready();
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(isProblem(res)).toBe(true);
      expect(res.json().detail).toBe('The database does not answer.');
    } finally {
      await app.close();
      await store.close();
    }
  });
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('METRICS_PORT', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    await db.store.close();
  });
  afterAll(async () => db?.drop());

  it('serves /metrics on its own port and no longer on the main one', async () => {
    const metricsPort = await freePort();
    const server = spawnCloudpos(['serve'], { PORT: '0', HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
    try {
      const [, base] = await server.waitFor(/listening on (http:\/\/\S+)/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const main = await fetch(`${base}/metrics`);
      expect(main.status).toBe(404);
      expect(main.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      // the main port's requests are counted there
      expect(sample(text, 'cloudpos_http_requests_total{method="GET",route="/healthz",status="200"}')).toBe(1);
      const other = await fetch(`http://127.0.0.1:${metricsPort}/terminals`);
      expect(other.status).toBe(404);
      expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      server.proc.kill('SIGTERM');
      await server.exit;
    }
  });
});
