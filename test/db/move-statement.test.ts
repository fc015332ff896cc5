import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { TransitionPlan } from '../../src/domain/transaction-lifecycle.js';
import { newTransactionId } from '../../src/transactions/create.js';
import { moveInOneStatement } from '../../src/transactions/move-statement.js';
import { newEventId } from '../../src/webhooks/event-types.js';
import { onboard, usePlatform } from '../support/platform.js';

// A move's statement is compiled once for each kind of move and reused with new values: moves that
// differ only in a word the statement carries as a literal, or in the columns they change, or in
// writing an event, must each keep their own text.
describe('postgres: the move statement, compiled once per kind of move', () => {
  const platform = usePlatform('postgres');

  it('writes each move’s own reason, changed columns and event', async () => {
    const { app, db } = platform();
    const c = await onboard(app, { terminalsPerStore: 5 });
    const store = db.store.db;
    const terminals = (await sql<{ id: string }>`select id from terminals order by id desc limit 5`.execute(store)).rows.map((r) => Number(r.id));
    const ids = terminals.map(() => newTransactionId());
    for (const [i, terminal] of terminals.entries()) {
      await sql`insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference, amount_minor, currency, created_at, expires_at, updated_at)
                values (${ids[i]}, ${c.customerId}, ${terminal}, 'PURCHASE', 'CREATED', 'PENDING', ${`move-${i}`}, 100, 'EUR', 1, ${Date.now() + 60_000}, 1)`.execute(store);
    }
    const pending = { status: 'CREATED', stage: 'PENDING' } as const;
    const cancel: TransitionPlan = { event: 'CANCEL_BY_CUSTOMER', actor: 'CUSTOMER', from: pending, to: { status: 'CANCELLED', stage: 'DONE' } };
    const retrieve: TransitionPlan = { event: 'RETRIEVE', actor: 'TERMINAL', from: pending, to: { status: 'CREATED', stage: 'RETRIEVED' } };
    const none = { result: null, cancel_reason: null };
    const event = (id: string) => ({ id: newEventId(), customer_id: c.customerId, type: 'transaction.retrieved' as const, subject: `transaction:${id}`, data: '{}', at: 2 });

    expect(await moveInOneStatement(store, { id: ids[0]! }, cancel, { result: null, cancel_reason: 'CANCELLED_BY_CUSTOMER' }, {}, 2, null, undefined)).toBe(true);
    expect(await moveInOneStatement(store, { id: ids[1]! }, cancel, { result: null, cancel_reason: 'EXPIRED' }, {}, 2, 'late', undefined)).toBe(true);
    expect(await moveInOneStatement(store, { id: ids[2]! }, retrieve, none, { card_last4: '1111' }, 3, null, undefined)).toBe(true);
    expect(await moveInOneStatement(store, { id: ids[3]! }, retrieve, none, { brand: 'VISA', entry_mode: 'CONTACTLESS' }, 4, null, undefined)).toBe(true);
    expect(await moveInOneStatement(store, { id: ids[4]! }, retrieve, none, { brand: 'VISA', entry_mode: 'CONTACTLESS' }, 4, null, event(ids[4]!))).toBe(true);
    // The same kind of move again: its compare-and-set no longer holds.
    expect(await moveInOneStatement(store, { id: ids[0]! }, cancel, { result: null, cancel_reason: 'CANCELLED_BY_CUSTOMER' }, {}, 5, null, undefined)).toBe(false);

    const rows = await store.selectFrom('transactions').select(['id', 'status', 'stage', 'cancel_reason', 'card_last4', 'brand', 'entry_mode', 'updated_at']).where('id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id))).toEqual([
      { id: ids[0], status: 'CANCELLED', stage: 'DONE', cancel_reason: 'CANCELLED_BY_CUSTOMER', card_last4: null, brand: null, entry_mode: null, updated_at: 2 },
      { id: ids[1], status: 'CANCELLED', stage: 'DONE', cancel_reason: 'EXPIRED', card_last4: null, brand: null, entry_mode: null, updated_at: 2 },
      { id: ids[2], status: 'CREATED', stage: 'RETRIEVED', cancel_reason: null, card_last4: '1111', brand: null, entry_mode: null, updated_at: 3 },
      { id: ids[3], status: 'CREATED', stage: 'RETRIEVED', cancel_reason: null, card_last4: null, brand: 'VISA', entry_mode: 'CONTACTLESS', updated_at: 4 },
      { id: ids[4], status: 'CREATED', stage: 'RETRIEVED', cancel_reason: null, card_last4: null, brand: 'VISA', entry_mode: 'CONTACTLESS', updated_at: 4 },
    ]);
    const history = await store.selectFrom('transaction_events').select(['transaction_id', 'detail']).where('transaction_id', 'in', ids).orderBy('id').execute();
    expect(history.map((h) => [h.transaction_id, h.detail])).toEqual([[ids[0], null], [ids[1], 'late'], [ids[2], null], [ids[3], null], [ids[4], null]]);
    const events = await store.selectFrom('events').select(['subject', 'sequence']).where('subject', 'in', ids.map((id) => `transaction:${id}`)).execute();
    expect(events).toEqual([{ subject: `transaction:${ids[4]}`, sequence: 1 }]);
  });
});
