import { describe, it, expect } from 'vitest';
import type { Transaction } from '../../src/domain/transaction.js';
import {
  apply,
  INITIAL_STATE,
  LIFECYCLE_EVENTS,
  planTransition,
  TRANSITIONS,
  type LifecycleEvent,
  type PublicStatus,
  type TerminalStage,
  type TransactionType,
} from '../../src/domain/transaction-lifecycle.js';

const TYPES: TransactionType[] = ['PURCHASE', 'REFUND', 'PRE_AUTHORIZATION'];
const STATUSES: PublicStatus[] = ['CREATED', 'AUTHORIZED', 'CLEARED', 'CANCELLED'];
const STAGES: TerminalStage[] = ['PENDING', 'RETRIEVED', 'CARD_PRESENTED', 'DONE'];

/** The life cycle as DESIGN.md states it, written out independently of the table under test:
 * `${type} ${status}/${stage} ${event}` → `${status}/${stage} ${result or reason}`. */
function expected(): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of TYPES) {
    const set = (from: string, e: LifecycleEvent, to: string) => m.set(`${t} ${from} ${e}`, to);
    set('CREATED/PENDING', 'RETRIEVE', 'CREATED/RETRIEVED -');
    set('CREATED/PENDING', 'SUPERSEDE', 'CANCELLED/DONE SUPERSEDED');
    set('CREATED/PENDING', 'EXPIRE', 'CANCELLED/DONE EXPIRED');
    for (const from of ['CREATED/PENDING', 'CREATED/RETRIEVED']) {
      set(from, 'CANCEL_BY_CUSTOMER', 'CANCELLED/DONE CANCELLED_BY_CUSTOMER');
      set(from, 'CANCEL_ON_TERMINAL', 'CANCELLED/DONE CANCELLED_ON_TERMINAL');
    }
    set('CREATED/RETRIEVED', 'PRESENT_CARD', 'CREATED/CARD_PRESENTED -');
    set('CREATED/CARD_PRESENTED', 'DECLINE', 'CANCELLED/DONE DECLINED');
    set('CREATED/CARD_PRESENTED', 'ACQUIRER_FAILURE', 'CANCELLED/DONE ACQUIRER_UNAVAILABLE');
    // A late approval reversed is recorded against the cancelled transaction, which stays as it was.
    set('CANCELLED/DONE', 'REVERSE', 'CANCELLED/DONE -');
    if (t === 'PRE_AUTHORIZATION') {
      set('CREATED/CARD_PRESENTED', 'AUTHORIZE', 'AUTHORIZED/DONE APPROVED');
      set('AUTHORIZED/DONE', 'CAPTURE', 'CLEARED/DONE -');
      set('AUTHORIZED/DONE', 'RELEASE', 'CANCELLED/DONE RELEASED');
    } else {
      set('CREATED/CARD_PRESENTED', 'APPROVE', 'CLEARED/DONE APPROVED');
    }
  }
  return m;
}

describe('planTransition', () => {
  const table = expected();

  it('allows exactly the transitions of the design and refuses every other one', () => {
    let allowed = 0;
    let refused = 0;
    for (const type of TYPES) {
      for (const status of STATUSES) {
        for (const stage of STAGES) {
          for (const event of LIFECYCLE_EVENTS) {
            const key = `${type} ${status}/${stage} ${event}`;
            const r = planTransition({ type, status, stage }, event);
            const want = table.get(key);
            if (want === undefined) {
              expect(r.ok, key).toBe(false);
              if (!r.ok) expect(r.error).toBe('TRANSITION_NOT_ALLOWED');
              refused++;
            } else {
              expect(r.ok, key).toBe(true);
              if (!r.ok) continue;
              const p = r.value;
              // The CAS condition is the exact current state.
              expect(p.from).toEqual({ status, stage });
              expect(`${p.to.status}/${p.to.stage} ${p.result ?? p.cancel_reason ?? '-'}`, key).toBe(want);
              expect(p.result !== undefined && p.cancel_reason !== undefined, key).toBe(false);
              expect(p.event).toBe(event);
              expect(p.actor).toBe(TRANSITIONS[event].actor);
              allowed++;
            }
          }
        }
      }
    }
    expect(allowed).toBe(table.size);
    expect(allowed + refused).toBe(TYPES.length * STATUSES.length * STAGES.length * LIFECYCLE_EVENTS.length);
  });

  it('covers all thirteen events', () => {
    expect([...LIFECYCLE_EVENTS].sort()).toEqual(
      ['ACQUIRER_FAILURE', 'APPROVE', 'AUTHORIZE', 'CANCEL_BY_CUSTOMER', 'CANCEL_ON_TERMINAL', 'CAPTURE', 'DECLINE',
        'EXPIRE', 'PRESENT_CARD', 'RELEASE', 'RETRIEVE', 'REVERSE', 'SUPERSEDE'].sort(),
    );
  });

  it('names who may do what', () => {
    expect(TRANSITIONS.CANCEL_BY_CUSTOMER.actor).toBe('CUSTOMER');
    expect(TRANSITIONS.CAPTURE.actor).toBe('CUSTOMER');
    expect(TRANSITIONS.PRESENT_CARD.actor).toBe('TERMINAL');
    expect(TRANSITIONS.RETRIEVE.actor).toBe('TERMINAL');
    expect(TRANSITIONS.APPROVE.actor).toBe('ACQUIRER');
    expect(TRANSITIONS.EXPIRE.actor).toBe('SYSTEM');
  });

  it('does not let the returned plan alias the table', () => {
    const r = planTransition({ type: 'PURCHASE', ...INITIAL_STATE }, 'RETRIEVE');
    expect(r.ok).toBe(true);
    if (r.ok) {
      (r.value.to as { stage: TerminalStage }).stage = 'DONE';
      expect(TRANSITIONS.RETRIEVE.to.stage).toBe('RETRIEVED');
    }
  });

  it('refuses a second capture or release and cancel after card presented', () => {
    const capture = planTransition({ type: 'PRE_AUTHORIZATION', status: 'CLEARED', stage: 'DONE' }, 'CAPTURE');
    expect(capture.ok).toBe(false);
    const cancel = planTransition({ type: 'PURCHASE', status: 'CREATED', stage: 'CARD_PRESENTED' }, 'CANCEL_BY_CUSTOMER');
    expect(cancel.ok).toBe(false);
    if (!cancel.ok) expect(cancel.detail).toContain('CARD_PRESENTED');
    const captureAPurchase = planTransition({ type: 'PURCHASE', status: 'AUTHORIZED', stage: 'DONE' }, 'CAPTURE');
    expect(captureAPurchase.ok === false && captureAPurchase.detail).toContain('PURCHASE');
  });

  it('walks the happy paths', () => {
    let s = { type: 'PURCHASE' as TransactionType, ...INITIAL_STATE };
    for (const e of ['RETRIEVE', 'PRESENT_CARD', 'APPROVE'] as const) {
      const r = planTransition(s, e);
      if (!r.ok) throw new Error(r.detail);
      s = { ...s, ...r.value.to };
    }
    expect(s).toMatchObject({ status: 'CLEARED', stage: 'DONE' });
  });
});

describe('apply', () => {
  const tx = (over: Partial<Transaction> = {}): Transaction => ({
    id: '1', customer_id: 1, terminal_pk: 1, type: 'PURCHASE', status: 'CREATED', stage: 'PENDING', result: null, cancel_reason: null,
    merchant_order_reference: 'r', amount_minor: 100, currency: 'EUR', captured_minor: null, captured_at: null, reference_id: null, brand: null,
    card_last4: null, entry_mode: null, stan: null, authorization_code: null, receipt: null, merchant_receipt: null,
    acquirer_reference: null, outcome_hash: null, created_at: 0, expires_at: 1, transaction_at: null, updated_at: 0,
    ...over,
  });
  it('moves the transaction as the table says, with its result and cancel reason', () => {
    const declined = apply(tx({ stage: 'CARD_PRESENTED' }), 'DECLINE');
    if (!declined.ok) throw new Error(declined.detail);
    expect(declined.value.next).toMatchObject({ status: 'CANCELLED', stage: 'DONE', result: 'DECLINED', cancel_reason: null });
    expect(declined.value.plan.from).toEqual({ status: 'CREATED', stage: 'CARD_PRESENTED' });
    const superseded = apply(tx(), 'SUPERSEDE');
    expect(superseded.ok && superseded.value.next).toMatchObject({ status: 'CANCELLED', cancel_reason: 'SUPERSEDED', result: null });
  });
  it('refuses what the table does not allow, leaving the transaction as it was', () => {
    const t = tx({ stage: 'RETRIEVED' });
    expect(apply(t, 'RETRIEVE')).toMatchObject({ ok: false, error: 'TRANSITION_NOT_ALLOWED' });
    expect(apply(tx({ status: 'AUTHORIZED', stage: 'DONE' }), 'CAPTURE')).toMatchObject({ ok: false });
    expect(t.stage).toBe('RETRIEVED');
  });
});
