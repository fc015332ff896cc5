import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Tables, TransactionRow } from '../../src/db/schema.js';
import { CreationBatches, createManyInOneStatement, type BatchedCreation } from '../../src/transactions/create-batch.js';
import { createInOneStatement } from '../../src/transactions/create-statement.js';
import { newTransactionId } from '../../src/transactions/create.js';
import { newTransactionRow } from '../../src/transactions/transaction-row.js';
import { newEventId } from '../../src/webhooks/event-types.js';
import { onboard, usePlatform } from '../support/platform.js';

/** A new purchase's row for `terminal` of `customer`, made `now`, with its own reference. */
const purchaseRow = (customer: number, terminal: number, reference: string, now: number, id = newTransactionId()): TransactionRow =>
  newTransactionRow({
    id, customer_id: customer, terminal_pk: terminal, type: 'PURCHASE', merchant_order_reference: reference,
    amount_minor: 100, currency: 'EUR', reference_id: null, created_at: now, expires_at: now + 60_000,
  });

// Plain creations that pile up on PostgreSQL go in one statement (create-batch.ts). Each must end
// as it would alone: written with its history and its event when its terminal is free, and
// answered with the open transaction in its way otherwise; a terminal that does not exist gets
// nothing written.
describe('postgres: creations written together in one statement', () => {
  const platform = usePlatform('postgres');
  /** A new customer with `n` terminals, their keys newest first. */
  const customerWith = async (n: number) => {
    const { app, db } = platform();
    const c = await onboard(app, { terminalsPerStore: n });
    const store = db.store.db;
    const terminals = (await sql<{ id: string }>`select id from terminals order by id desc limit ${n}`.execute(store)).rows.map((r) => Number(r.id));
    return { c, db, store, terminals };
  };

  it('writes each free terminal’s creation, and answers the open transaction of a busy one', async () => {
    const { c, store, terminals } = await customerWith(4);
    // The third terminal is busy with a transaction it has fetched.
    const busyId = newTransactionId();
    await sql`insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference, amount_minor, currency, created_at, expires_at, updated_at)
              values (${busyId}, ${c.customerId}, ${terminals[2]}, 'PURCHASE', 'CREATED', 'RETRIEVED', 'busy', 100, 'EUR', 1, ${Date.now() + 60_000}, 1)`.execute(store);
    // An endpoint of the customer's that takes every event: each event written gets its delivery.
    await sql`insert into webhook_endpoints (id, customer_id, url, secret, created_at) values ('we_batch', ${c.customerId}, 'https://example.com/hooks', 'sealed', 1)`.execute(store);
    const now = Date.now();
    const rowFor = (terminal: number, i: number) => purchaseRow(c.customerId, terminal, `batch-${i}`, now);
    // Out of terminal order, and one terminal that does not exist.
    const rows = [rowFor(terminals[1]!, 0), rowFor(terminals[0]!, 1), rowFor(terminals[2]!, 2), rowFor(terminals[3]!, 3), rowFor(987_654_321, 4)];
    const creations = rows.map((row) => ({
      row,
      event: { id: newEventId(), customer_id: c.customerId, type: 'transaction.created' as const, subject: `transaction:${row.id}`, data: `{"n":"${row.merchant_order_reference}"}`, at: now },
    }));

    const done = await createManyInOneStatement(store, { status: rows[0]!.status, stage: rows[0]!.stage, event: true }, creations);

    expect(done.map((d) => [d.created, d.active?.id, d.active?.stage])).toEqual([
      [true, undefined, undefined],
      [true, undefined, undefined],
      [false, busyId, 'RETRIEVED'],
      [true, undefined, undefined],
      [false, undefined, undefined],
    ]);
    expect(done[2]!.active!.row.merchant_order_reference).toBe('busy');
    const written = [rows[0]!, rows[1]!, rows[3]!];
    const stored = await store.selectFrom('transactions').selectAll().where('id', 'in', rows.map((r) => r.id)).orderBy('merchant_order_reference').execute();
    expect(stored).toEqual(written.map((r) => ({ ...r, terminal_id: r.terminal_id })));
    const history = await store.selectFrom('transaction_events').select(['transaction_id', 'event', 'to_status', 'to_stage']).where('transaction_id', 'in', rows.map((r) => r.id)).execute();
    expect(history.sort((a, b) => a.transaction_id.localeCompare(b.transaction_id))).toEqual(
      written.map((r) => ({ transaction_id: r.id, event: 'CREATE', to_status: r.status, to_stage: r.stage })).sort((a, b) => a.transaction_id.localeCompare(b.transaction_id)),
    );
    const events = await store.selectFrom('events').select(['subject', 'sequence', 'data', 'created_at']).where('subject', 'in', rows.map((r) => `transaction:${r.id}`)).orderBy('data').execute();
    expect(events).toEqual(written.map((r) => ({ subject: `transaction:${r.id}`, sequence: 1, data: `{"n":"${r.merchant_order_reference}"}`, created_at: now })));
    const deliveries = await store.selectFrom('webhook_deliveries').select(['event_id', 'endpoint_id', 'status']).where('endpoint_id', '=', 'we_batch').execute();
    const eventIds = creations.filter((x) => written.includes(x.row)).map((x) => x.event.id);
    expect(deliveries.sort((a, b) => a.event_id.localeCompare(b.event_id))).toEqual(eventIds.sort().map((id) => ({ event_id: id, endpoint_id: 'we_batch', status: 'PENDING' })));
  });

  it('writes nothing at all when one creation meets a transaction committed after its snapshot', async () => {
    const { c, store, terminals } = await customerWith(2);
    const now = Date.now();
    const rowFor = (terminal: number, i: number) => purchaseRow(c.customerId, terminal, `race-${i}`, now);
    // Another creator holds the second terminal's lock and commits a transaction for it while the
    // batch waits for that lock: the batch's snapshot does not see it, and the unique index does.
    const other = rowFor(terminals[1]!, 9);
    const rows = [rowFor(terminals[0]!, 0), rowFor(terminals[1]!, 1)];
    const racing = store.transaction().execute(async (tx) => {
      await sql`select id from terminals where id = ${terminals[1]} for no key update`.execute(tx);
      const batch = createManyInOneStatement(store, { status: rows[0]!.status, stage: rows[0]!.stage, event: false }, rows.map((row) => ({ row }))).then(
        () => 'written',
        (e: unknown) => e,
      );
      // The batch is waiting for the lock this transaction holds.
      for (let i = 0; i < 200; i++) {
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(store);
        if (waiting.rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await tx.insertInto('transactions').values(other).execute();
      // Wrapped: the transaction must commit before the batch can end.
      return { batch };
    });
    const outcome = await (await racing).batch;
    expect(outcome).toMatchObject({ code: '23505' });
    const stored = await store.selectFrom('transactions').select('id').where('id', 'in', [...rows.map((r) => r.id), other.id]).execute();
    expect(stored.map((r) => r.id)).toEqual([other.id]);
  });

  // Planned once per connection and kept, as every prepared statement is (README, "On
  // PostgreSQL"): made while the tables are new, the batch must still look each terminal and its
  // open transaction up by its key when thousands of rows follow.
  it('keeps a plan made on new tables that looks each terminal and its open transaction up by key', async () => {
    const { c, db, terminals } = await customerWith(2);
    const sent: CompiledQuery[] = [];
    const seeing = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 1 }) }), log: (e) => void sent.push(e.query) });
    const now = Date.now();
    try {
      const rows = terminals.map((terminal, i) => purchaseRow(c.customerId, terminal, `plan-${i}`, now));
      const event = (row: TransactionRow) => ({ id: newEventId(), customer_id: c.customerId, type: 'transaction.created' as const, subject: `transaction:${row.id}`, data: '{}', at: now });
      await createManyInOneStatement(seeing, { status: rows[0]!.status, stage: rows[0]!.stage, event: true }, rows.map((row) => ({ row, event: event(row) })));
    } finally {
      await seeing.destroy();
    }
    expect(sent).toHaveLength(1);
    const [statement] = sent as [CompiledQuery];
    const plan = await db.store.db.connection().execute(async (conn) => {
      await sql`set plan_cache_mode = force_generic_plan`.execute(conn);
      const literal = (v: unknown) => `'{${(v as unknown[]).map((x) => (x === null ? 'NULL' : `"${String(x).replaceAll('"', '\\"')}"`)).join(',')}}'`;
      try {
        await sql.raw(`prepare batch as ${statement.sql}`).execute(conn);
        // The terminals and transactions since: 2,000 of each.
        await sql`insert into terminals (store_uuid, manufacturer, model, serial, terminal_key, device_token_hash, created_at)
                  select store_uuid, manufacturer, model, serial || g, terminal_key || g, device_token_hash || g, created_at
                    from terminals, generate_series(1, 1000) g where id = any(${terminals})`.execute(conn);
        await sql`insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference, amount_minor, currency, created_at, expires_at, updated_at)
                  select g::text || t.id || ${newTransactionId().slice(0, 10)}, ${c.customerId}, t.id, 'PURCHASE', 'CLEARED', 'DONE', 'young-' || g, 100, 'EUR', g, g, g
                    from generate_series(1000000000, 1000000999) g, terminals t where t.id = any(${terminals})`.execute(conn);
        const rows = await sql.raw<{ 'QUERY PLAN': string }>(`explain execute batch(${statement.parameters.map(literal).join(', ')})`).execute(conn);
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await sql`deallocate batch`.execute(conn);
        await sql`reset plan_cache_mode`.execute(conn);
      }
    });
    expect(plan).toContain('Index Scan using terminals_pkey on terminals');
    expect(plan).toContain('Index Scan using transactions_one_active_per_terminal on transactions');
    expect(plan).not.toMatch(/Seq Scan on (terminals|transactions)|Bitmap|transactions_terminal_/);
  });

  it('writes creations that pile up together, one terminal’s second after its first, and each alone after a batch that failed', async () => {
    const { c, store, terminals } = await customerWith(12);
    const now = Date.now();
    const creation = (terminal: number, i: number, id = newTransactionId()): BatchedCreation => ({ row: purchaseRow(c.customerId, terminal, `pile-${i}`, now, id) });
    let alone = 0;
    const batches = new CreationBatches(store, ({ row }) => {
      alone++;
      return createInOneStatement(store, row, { supersededBy: `superseded by ${row.id}`, supersede: false });
    });

    // Twelve terminals, the first one twice: two go alone at once, the rest wait and go together,
    // but for the first terminal's second, which goes after its first and meets it.
    const first = creation(terminals[0]!, 0);
    const second = creation(terminals[0]!, 1);
    const others = terminals.slice(1).map((t, i) => creation(t, i + 2));
    const done = await Promise.all([first, ...others, second].map((x) => batches.create(x)));
    expect(alone).toBeLessThanOrEqual(3);
    expect(done.slice(0, -1).every((d) => d.created)).toBe(true);
    expect(done.at(-1)).toMatchObject({ created: false, active: { id: first.row.id, stage: 'PENDING' } });
    const stored = await store.selectFrom('transactions').select('id').where('id', 'in', [first, second, ...others].map((x) => x.row.id)).execute();
    expect(stored).toHaveLength(12);

    // A batch with a creation whose id is taken fails whole; each then goes alone, and only that one fails.
    await sql`update transactions set stage = 'DONE', status = 'CANCELLED' where id in (${sql.join(stored.map((r) => r.id))})`.execute(store);
    alone = 0;
    const again = terminals.map((t, i) => creation(t, i + 20, i === 7 ? first.row.id : newTransactionId()));
    const settled = await Promise.allSettled(again.map((x) => batches.create(x)));
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    expect(settled[7]).toMatchObject({ status: 'rejected', reason: { code: '23505' } });
    expect(alone).toBeGreaterThan(2);
    const written = await store.selectFrom('transactions').select('id').where('id', 'in', again.map((x) => x.row.id)).where('stage', '=', 'PENDING').execute();
    expect(written).toHaveLength(11);
  });
});
