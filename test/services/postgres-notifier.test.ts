import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SELF_ANNOUNCING_PREFIX } from '../../src/db/later-migrations.js';
import type { Transaction } from '../../src/domain/transaction.js';
import { LISTENER_NAME, PostgresNotifier } from '../../src/services/postgres-notifier.js';
import { newTransactionRow, toTransaction } from '../../src/transactions/transaction-row.js';
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

  it("leaves a self-announcing instance's writes to it: the trigger does not announce them", async () => {
    await expect.poll(() => notifier.trusted()).toBe(true);
    heard.length = 0;
    const write = async (applicationName: string, id: string) => {
      const c = new pg.Client({ connectionString: db.url, application_name: applicationName });
      await c.connect();
      try {
        await c.query(`update transactions set updated_at = updated_at + 1 where id = '42'`);
      } finally {
        await c.end();
      }
      return id;
    };
    await write(`${SELF_ANNOUNCING_PREFIX}quiet`, 'quiet');
    await write('an older version', 'loud');
    // the second write's notification arrives; the first one's would have come before it
    await expect.poll(() => heard.length).toBeGreaterThan(0);
    expect(heard).toEqual([[1, '42']]);
  });

  describe('instances that announce their own changes', () => {
    let a: PostgresNotifier;
    let b: PostgresNotifier;
    const heardByB: Array<[number | null, string | undefined]> = [];

    beforeAll(async () => {
      const options = { url: db.url, heartbeatMs: 50, silenceMs: 500, deadMs: 2_000 };
      a = new PostgresNotifier({ ...options, applicationName: `${SELF_ANNOUNCING_PREFIX}a` });
      b = new PostgresNotifier({ ...options, applicationName: `${SELF_ANNOUNCING_PREFIX}b` });
      b.watch((terminal, transaction) => heardByB.push([terminal, transaction]));
      await Promise.all([a.start(), b.start()]);
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    it("tells the other a creation (waking its terminal's polls) and a change, after the commit", async () => {
      await expect.poll(() => a.trusted() && b.trusted()).toBe(true);
      let woken = 0;
      const poll = { wake: () => void woken++ };
      b.subscribe(7, poll);
      a.notify(7, 'created');
      a.changed(8, 'moved');
      await expect.poll(() => woken).toBe(1);
      await expect.poll(() => heardByB.some(([t, id]) => t === 8 && id === 'moved')).toBe(true);
      expect(heardByB).toContainEqual([7, 'created']);
      b.unsubscribe(7, poll);
    });

    it('hands the other the transaction a creation committed, unless it changed again before being told', async () => {
      await expect.poll(() => a.trusted() && b.trusted()).toBe(true);
      const handed: Array<[number | null, string | undefined, Transaction | undefined]> = [];
      const stop = b.watch((terminal, transaction, created) => void handed.push([terminal, transaction, created]));
      const tx: Transaction = {
        ...toTransaction(
          newTransactionRow({
            id: '1234567890123456789012345678901',
            customer_id: 3,
            terminal_pk: 11,
            type: 'PURCHASE',
            merchant_order_reference: 'tab\tand "quotes"',
            amount_minor: 1250,
            currency: 'EUR',
            reference_id: null,
            created_at: 1,
            expires_at: 2,
          }),
        ),
        stage: 'RETRIEVED',
      };
      try {
        a.notify(11, tx.id, tx);
        // Created and moved again in one turn: told without it.
        a.notify(12, 'superseded', { ...tx, id: 'superseded', terminal_pk: 12 });
        a.changed(12, 'superseded');
        await expect.poll(() => handed.length).toBe(2);
        expect(handed).toEqual([
          [11, tx.id, tx],
          [12, 'superseded', undefined],
        ]);
      } finally {
        stop();
      }
    });

    it('makes the other forget everything and look again when it may have failed to tell a change', async () => {
      await expect.poll(() => a.trusted() && b.trusted()).toBe(true);
      heardByB.length = 0;
      let woken = 0;
      const poll = { wake: () => void woken++ };
      b.subscribe(9, poll);
      // a loses its listening connection, and a change made meanwhile cannot be told: the reset
      // it sends once it is back makes b forget (and wake its held polls)
      const pid = (a as unknown as { client: pg.Client & { processID: number } }).client.processID;
      await admin((c) => c.query('select pg_terminate_backend($1)', [pid]));
      a.changed(10, 'unheard');
      await expect.poll(() => woken, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(heardByB.some(([t]) => t === null)).toBe(true);
      b.unsubscribe(9, poll);
    });

    it('makes the others forget everything when an instance falls silent without saying goodbye', async () => {
      await expect.poll(() => b.trusted()).toBe(true);
      // an instance that beat once and then crashed
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query("select pg_notify('cloudpos_heartbeat', 'a crashed instance')");
      await c.end();
      heardByB.length = 0;
      await expect.poll(() => heardByB.some(([t]) => t === null), { timeout: 5_000 }).toBe(true);
    });
  });
});
