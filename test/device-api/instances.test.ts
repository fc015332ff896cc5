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
});
