import { sql, type CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createInOneStatement } from '../../src/transactions/create-statement.js';
import { newTransactionId } from '../../src/transactions/create.js';
import { newTransactionRow } from '../../src/transactions/transaction-row.js';
import type { Executor } from '../../src/db/executor.js';
import { latestTerminalPk, onboard, usePlatform } from '../support/platform.js';

// PostgreSQL creates a payment in one statement (create-statement.ts) and checks no foreign keys
// on that path (migration 0013): the statement itself writes nothing for a terminal that is not there.
describe('postgres: the one-statement creation', () => {
  const platform = usePlatform('postgres');

  const rowFor = (customerId: number, terminalPk: number) => {
    const now = Date.now();
    return newTransactionRow({
      id: newTransactionId(),
      customer_id: customerId,
      terminal_pk: terminalPk,
      type: 'PURCHASE',
      merchant_order_reference: 'statement-test',
      amount_minor: 1234,
      currency: 'EUR',
      reference_id: null,
      created_at: now,
      expires_at: now + 60_000,
    });
  };
  const count = async (table: 'transactions' | 'transaction_events') =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(platform().db.store.db)).rows[0]!.n);

  it('writes nothing for a terminal that does not exist, and keys no longer check it', async () => {
    const { db } = platform();
    const keys = await sql<{ conname: string }>`select conname from pg_constraint where contype = 'f' and conrelid::regclass::text in ('transactions', 'transaction_events')`.execute(db.store.db);
    expect(keys.rows.map((r) => r.conname)).toEqual(['transactions_reference_id_fkey']);
    const c = await onboard(platform().app);
    const before = [await count('transactions'), await count('transaction_events')];
    const missing = await createInOneStatement(db.store.db, rowFor(c.customerId, 987_654_321), { supersededBy: 'x', supersede: true });
    expect(missing).toEqual({ created: false, active: undefined });
    expect([await count('transactions'), await count('transaction_events')]).toEqual(before);
    const pk = await latestTerminalPk(platform().db.store.db);
    const made = await createInOneStatement(db.store.db, rowFor(c.customerId, pk), { supersededBy: 'x', supersede: true });
    expect(made).toEqual({ created: true, active: undefined });
    expect([await count('transactions'), await count('transaction_events')]).toEqual([before[0]! + 1, before[1]! + 1]);
  });
  it('moves the open transaction by the ctid it locked, in the plan PostgreSQL keeps for any table size', async () => {
    const { db } = platform();
    const c = await onboard(platform().app);
    const pk = await latestTerminalPk(platform().db.store.db);
    // The statement as the platform sends it: its text and parameters, seen on the way out.
    let sent: CompiledQuery | undefined;
    const real = db.store.db;
    const seeing = { getExecutor: () => real.getExecutor(), executeQuery: (q: CompiledQuery) => ((sent = q), real.executeQuery(q)) } as unknown as Executor;
    // A pending payment in the way, superseded by the shape the platform sends then (with its event).
    const pending = rowFor(c.customerId, pk);
    expect((await createInOneStatement(real, pending, { supersededBy: 'x', supersede: false })).created).toBe(true);
    const event = { id: `evt_${pending.id}`, customer_id: c.customerId, type: 'transaction.cancelled' as const, subject: pending.id, data: '{}', at: Date.now() };
    const next = rowFor(c.customerId, pk);
    const done = await createInOneStatement(seeing, next, { supersededBy: `superseded by ${next.id}`, supersede: true, superseding: { id: pending.id, event } });
    expect(done).toMatchObject({ created: true, active: { id: pending.id, superseded: true } });
    // The generic plan (the one a prepared statement keeps), made while the table holds a few rows:
    // the move must not read transactions by anything that grows with them.
    const plan = await real.connection().execute(async (conn) => {
      await sql`set plan_cache_mode = force_generic_plan`.execute(conn);
      await sql.raw(`prepare creation_plan as ${sent!.sql}`).execute(conn);
      try {
        const literal = (v: unknown) => (v === null ? 'null' : typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
        const rows = await sql.raw<{ 'QUERY PLAN': string }>(`explain execute creation_plan(${sent!.parameters.map(literal).join(', ')})`).execute(conn);
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await sql`deallocate creation_plan`.execute(conn);
        await sql`reset plan_cache_mode`.execute(conn);
      }
    });
    const move = plan.slice(plan.indexOf('CTE moved'), plan.indexOf('CTE moved_event'));
    expect(move).toContain('Tid Scan on transactions t');
    expect(move).not.toMatch(/transactions_pending_expiry|Seq Scan/);
  });
});
