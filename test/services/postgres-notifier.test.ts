import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LISTENER_NAME, PostgresNotifier } from '../../src/services/postgres-notifier.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

describe.skipIf(!inject('pgAvailable'))('PostgreSQL change notifications [postgres]', () => {
  let db: TestDatabase;
  let notifier: PostgresNotifier;
  const heard: Array<[number | null, string | undefined]> = [];

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    notifier = new PostgresNotifier({ url: db.url, applicationName: 'someone else', heartbeatMs: 50, silenceMs: 500, deadMs: 2_000 });
    notifier.watch((terminal, transaction) => heard.push([terminal, transaction]));
    await notifier.start();
  });
  afterAll(async () => {
    await notifier?.close();
    await db?.drop();
  });

  const admin = async <T>(run: (c: pg.Client) => Promise<T>) => {
    const c = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await c.connect();
    try {
      return await run(c);
    } finally {
      await c.end();
    }
  };

  it('hears a change committed by another writer, with its terminal and transaction', async () => {
    await expect.poll(() => notifier.trusted()).toBe(true);
    // the trigger fires on any write to the table, whoever makes it
    await admin(async () => {
      const c = new pg.Client({ connectionString: db.url, application_name: 'a writer' });
      await c.connect();
      try {
        await c.query("insert into customers (name, created_at) values ('n', 0)");
        await c.query("insert into merchants (customer_id, name, created_at) values (1, 'm', 0)");
        await c.query("insert into stores (uuid, merchant_id, name, timezone, currency, created_at) values ('s', 1, 's', 'UTC', 'EUR', 0)");
        await c.query("insert into terminals (store_uuid, manufacturer, model, serial, terminal_key, device_token_hash, created_at) values ('s', 'A', 'B', 'C', 'a-b-c', 'h', 0)");
        await c.query(`insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference, amount_minor, currency, created_at, expires_at, updated_at)
                       values ('42', 1, 1, 'PURCHASE', 'CREATED', 'PENDING', 'x', 1, 'EUR', 0, 1, 0)`);
      } finally {
        await c.end();
      }
    });
    await expect.poll(() => heard.some(([t, id]) => t === 1 && id === '42')).toBe(true);
  });

  it('stops vouching for what is remembered when its listening connection is lost, and tells the watchers to forget', async () => {
    await expect.poll(() => notifier.trusted()).toBe(true);
    heard.length = 0;
    await admin((c) => c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2', [new URL(db.url).pathname.slice(1), LISTENER_NAME]));
    await expect.poll(() => heard.some(([t]) => t === null)).toBe(true);
    // listening again: trusted again, after forgetting once more
    await expect.poll(() => notifier.trusted(), { timeout: 5_000 }).toBe(true);
  });
});
