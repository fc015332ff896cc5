import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createInOneStatement } from '../../src/transactions/create-statement.js';
import { newTransactionId } from '../../src/transactions/create.js';
import { newTransactionRow } from '../../src/transactions/transaction-row.js';
import { onboard, usePlatform } from '../support/platform.js';

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
    // The terminal onboard() just registered: the latest.
    const pk = Number((await sql<{ id: string }>`select max(id) as id from terminals`.execute(db.store.db)).rows[0]!.id);
    const made = await createInOneStatement(db.store.db, rowFor(c.customerId, pk), { supersededBy: 'x', supersede: true });
    expect(made).toEqual({ created: true, active: undefined });
    expect([await count('transactions'), await count('transaction_events')]).toEqual([before[0]! + 1, before[1]! + 1]);
  });
});
