import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { merchantApi } from '../support/http.js';
import { onboard } from '../support/platform.js';
import { startReceiver, verify, type Receiver } from '../support/receiver.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { deviceApi, purchase } from '../support/terminal.js';

describe.skipIf(!inject('pgAvailable'))('webhooks with two server instances on one PostgreSQL database [postgres]', () => {
  let db: TestDatabase;
  let second: Database;
  let a: FastifyInstance;
  let b: FastifyInstance;
  let r: Receiver;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url });
    a = await buildApp({ config, store: db.store });
    second = openDatabase(db.url);
    b = await buildApp({ config, store: second });
    await Promise.all([a.ready(), b.ready()]);
    r = await startReceiver();
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await r?.close();
    await second?.close();
    await db?.drop();
  });

  it('delivers each event once, whichever instance wrote it', async () => {
    const c = await onboard(a, { terminalsPerStore: 4 });
    const { secret } = (await merchantApi(a, c.apiKey)('POST', '/webhook-endpoints', { url: r.url, events: ['transaction.created', 'transaction.retrieved', 'transaction.card_presented', 'transaction.cleared'] })).json();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const [api, device] = i % 2 === 0 ? [a, b] : [b, a];
      const t = c.terminals[i % 4]!;
      const id = (await merchantApi(api, c.apiKey)('POST', `/terminals/${t.id}/transactions`, purchase(i + 1, `x${i}`))).json().id as string;
      await deviceApi(device, t.deviceToken).next();
      await deviceApi(device, t.deviceToken).card(id);
      ids.push(id);
    }
    const expected = ids.length * 4;
    await r.until((all) => all.length >= expected);
    // Both instances are idle once every delivery is recorded: nothing more arrives after that.
    const log = (await merchantApi(a, c.apiKey)('GET', '/events?size=100')).json() as Array<{ id: string }>;
    expect(log).toHaveLength(expected);
    let recorded = 0;
    while (recorded < expected) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      recorded = Number((await db.store.db.selectFrom('webhook_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    }
    expect(a.platform.worker.sending + b.platform.worker.sending).toBe(0);
    expect(r.received).toHaveLength(expected);
    expect(new Set(r.received.map((x) => x.id))).toEqual(new Set(log.map((e) => e.id)));
    for (const x of r.received) verify(secret, x);
    expect(recorded).toBe(expected);
  });

  it('wakes a ?wait= read held by one instance when the outcome is recorded through the other', async () => {
    const c = await onboard(a, { terminalsPerStore: 2 });
    const [t, other] = c.terminals as [(typeof c.terminals)[0], (typeof c.terminals)[0]];
    const id = (await merchantApi(a, c.apiKey)('POST', `/terminals/${t.id}/transactions`, purchase(5))).json().id as string;
    const otherId = (await merchantApi(a, c.apiKey)('POST', `/terminals/${other.id}/transactions`, purchase(1))).json().id as string;
    await deviceApi(a, t.deviceToken).next();
    const order: string[] = [];
    const waiting = merchantApi(b, c.apiKey)('GET', `/terminals/${t.id}/transactions/${id}?wait=60`).then((res) => (order.push('wait=60'), res));
    const witness = merchantApi(b, c.apiKey)('GET', `/terminals/${other.id}/transactions/${otherId}?wait=20`).then((res) => (order.push('wait=20'), res));
    while (b.platform.transactions.heldWaits() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await deviceApi(a, t.deviceToken).card(id);
    const res = await Promise.race([waiting, witness]);
    expect(order).toEqual(['wait=60']);
    expect(res.json()).toMatchObject({ id, status: 'CLEARED', result: 'APPROVED' });
    await merchantApi(a, c.apiKey)('DELETE', `/terminals/${other.id}/transactions/${otherId}`);
    expect((await witness).json().status).toBe('CANCELLED');
  }, 60_000);
});
