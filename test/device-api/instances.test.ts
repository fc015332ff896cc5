import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { merchantApi } from '../support/http.js';
import { onboard } from '../support/platform.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { deviceApi, purchase } from '../support/terminal.js';

describe.skipIf(!inject('pgAvailable'))('two server instances on one PostgreSQL database [postgres]', () => {
  let db: TestDatabase;
  let second: Database;
  let a: FastifyInstance;
  let b: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, LONG_POLL_MAX_S: '10' });
    a = await buildApp({ config, store: db.store });
    second = openDatabase(db.url);
    b = await buildApp({ config, store: second });
    await Promise.all([a.ready(), b.ready()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await second?.close();
    await db?.drop();
  });

  it('wakes a terminal long-polling one instance when another creates its transaction', async () => {
    const c = await onboard(a);
    for (let i = 0; i < 5; i++) {
      const polling = deviceApi(b, c.terminals[0]!.deviceToken).next(10);
      await new Promise((r) => setTimeout(r, 100));
      const created = await merchantApi(a, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(i + 1, `x${i}`));
      const got = await polling;
      // A held poll that runs out answers 204 without looking again: a 200 means it was woken.
      expect(got.statusCode).toBe(200);
      expect(got.json().id).toBe(created.json().id);
      await merchantApi(a, c.apiKey)('DELETE', String(created.headers.location));
    }
  });

  it('a status read another instance remembers shows a change made here once its notification arrives', async () => {
    const c = await onboard(a);
    const created = await merchantApi(a, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(3, 'seen'));
    const url = String(created.headers.location);
    const readB = async () => (await merchantApi(b, c.apiKey)('GET', url)).json();
    // read twice: the second answer comes from what b remembers
    expect((await readB()).status).toBe('CREATED');
    expect((await readB()).status).toBe('CREATED');
    expect((await merchantApi(a, c.apiKey)('DELETE', url)).statusCode).toBe(204);
    await expect.poll(async () => (await readB()).status).toBe('CANCELLED');
    expect((await readB()).cancel_reason).toBe('CANCELLED_BY_CUSTOMER');
  });

  it('a terminal polling one instance with nothing pending gets what another instance creates', async () => {
    const c = await onboard(a);
    const device = deviceApi(b, c.terminals[0]!.deviceToken);
    // twice: the second poll is answered by b's "nothing pending" hint
    expect((await device.next()).statusCode).toBe(204);
    expect((await device.next()).statusCode).toBe(204);
    const created = await merchantApi(a, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(4, 'hint'));
    // until the notification has reached b (a pause between polls: the device rate limit)
    let got = await device.next();
    while (got.statusCode === 204) {
      await new Promise((r) => setTimeout(r, 20));
      got = await device.next();
    }
    expect(got.statusCode).toBe(200);
    expect(got.json().id).toBe(created.json().id);
    await merchantApi(a, c.apiKey)('DELETE', String(created.headers.location));
  });

  it("skips its own notifications and hears the other instance's", async () => {
    const heard: Array<[string, number | null, string | undefined]> = [];
    const stopA = a.platform.notifier.watch((t, id) => heard.push(['a', t, id]));
    const stopB = b.platform.notifier.watch((t, id) => heard.push(['b', t, id]));
    try {
      const c = await onboard(a);
      const created = await merchantApi(a, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(5, 'own'));
      const id = created.json().id as string;
      await expect.poll(() => heard.filter(([on, , tx]) => on === 'b' && tx === id).length).toBeGreaterThan(0);
      await merchantApi(a, c.apiKey)('DELETE', String(created.headers.location));
      await expect.poll(() => heard.filter(([on, , tx]) => on === 'b' && tx === id).length).toBeGreaterThan(1);
      // a told itself once per change (creation, cancel), at once; the trigger's copies were skipped
      expect(heard.filter(([on, , tx]) => on === 'a' && tx === id).length).toBeLessThanOrEqual(3);
    } finally {
      stopA();
      stopB();
    }
  });
});
