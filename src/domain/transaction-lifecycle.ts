import { type Result, ok, err } from './result.js';
import type { Transaction } from './transaction.js';

export type TransactionType = 'PURCHASE' | 'REFUND' | 'PRE_AUTHORIZATION';
export type PublicStatus = 'CREATED' | 'AUTHORIZED' | 'CLEARED' | 'CANCELLED';
export type TerminalStage = 'PENDING' | 'RETRIEVED' | 'CARD_PRESENTED' | 'DONE';
export type TransactionResult = 'APPROVED' | 'DECLINED';
export type CancelReason =
  | 'CANCELLED_BY_CUSTOMER'
  | 'CANCELLED_ON_TERMINAL'
  | 'SUPERSEDED'
  | 'EXPIRED'
  | 'RELEASED'
  | 'ACQUIRER_UNAVAILABLE';
export type Actor = 'CUSTOMER' | 'TERMINAL' | 'ACQUIRER' | 'SYSTEM';
export type LifecycleEvent =
  | 'RETRIEVE'
  | 'SUPERSEDE'
  | 'EXPIRE'
  | 'CANCEL_BY_CUSTOMER'
  | 'CANCEL_ON_TERMINAL'
  | 'PRESENT_CARD'
  | 'APPROVE'
  | 'AUTHORIZE'
  | 'DECLINE'
  | 'ACQUIRER_FAILURE'
  | 'CAPTURE'
  | 'RELEASE'
  | 'REVERSE';

export type LifecycleState = { readonly status: PublicStatus; readonly stage: TerminalStage };

export type TransitionRule = {
  readonly from: readonly LifecycleState[];
  readonly to: LifecycleState;
  readonly result?: TransactionResult;
  readonly cancel_reason?: CancelReason;
  readonly actor: Actor;
  readonly types: readonly TransactionType[];
};

export const TRANSACTION_TYPES: readonly TransactionType[] = ['PURCHASE', 'REFUND', 'PRE_AUTHORIZATION'];

/** Every transaction starts here. */
export const INITIAL_STATE: LifecycleState = { status: 'CREATED', stage: 'PENDING' };

const PENDING: LifecycleState = INITIAL_STATE;
const RETRIEVED: LifecycleState = { status: 'CREATED', stage: 'RETRIEVED' };
const CARD_PRESENTED: LifecycleState = { status: 'CREATED', stage: 'CARD_PRESENTED' };
const AUTHORIZED: LifecycleState = { status: 'AUTHORIZED', stage: 'DONE' };
const CLEARED: LifecycleState = { status: 'CLEARED', stage: 'DONE' };
const CANCELLED: LifecycleState = { status: 'CANCELLED', stage: 'DONE' };
const ALL_TYPES = TRANSACTION_TYPES;

/** The whole life cycle. Nothing else decides whether a transaction may move. */
export const TRANSITIONS: { readonly [E in LifecycleEvent]: TransitionRule } = {
  RETRIEVE: { from: [PENDING], to: RETRIEVED, actor: 'TERMINAL', types: ALL_TYPES },
  // Only an unfetched transaction gives way to a newer one; a fetched one makes the terminal busy.
  SUPERSEDE: { from: [PENDING], to: CANCELLED, cancel_reason: 'SUPERSEDED', actor: 'SYSTEM', types: ALL_TYPES },
  EXPIRE: { from: [PENDING], to: CANCELLED, cancel_reason: 'EXPIRED', actor: 'SYSTEM', types: ALL_TYPES },
  // Cancelling races card presentation on the same CAS: once CARD_PRESENTED, cancel loses.
  CANCEL_BY_CUSTOMER: {
    from: [PENDING, RETRIEVED], to: CANCELLED, cancel_reason: 'CANCELLED_BY_CUSTOMER', actor: 'CUSTOMER', types: ALL_TYPES,
  },
  CANCEL_ON_TERMINAL: {
    from: [PENDING, RETRIEVED], to: CANCELLED, cancel_reason: 'CANCELLED_ON_TERMINAL', actor: 'TERMINAL', types: ALL_TYPES,
  },
  PRESENT_CARD: { from: [RETRIEVED], to: CARD_PRESENTED, actor: 'TERMINAL', types: ALL_TYPES },
  APPROVE: {
    from: [CARD_PRESENTED], to: CLEARED, result: 'APPROVED', actor: 'ACQUIRER', types: ['PURCHASE', 'REFUND'],
  },
  AUTHORIZE: {
    from: [CARD_PRESENTED], to: AUTHORIZED, result: 'APPROVED', actor: 'ACQUIRER', types: ['PRE_AUTHORIZATION'],
  },
  DECLINE: { from: [CARD_PRESENTED], to: CANCELLED, result: 'DECLINED', actor: 'ACQUIRER', types: ALL_TYPES },
  // The acquirer never answered: no result, because nobody approved or declined.
  ACQUIRER_FAILURE: {
    from: [CARD_PRESENTED], to: CANCELLED, cancel_reason: 'ACQUIRER_UNAVAILABLE', actor: 'SYSTEM', types: ALL_TYPES,
  },
  CAPTURE: { from: [AUTHORIZED], to: CLEARED, actor: 'CUSTOMER', types: ['PRE_AUTHORIZATION'] },
  RELEASE: {
    from: [AUTHORIZED], to: CANCELLED, cancel_reason: 'RELEASED', actor: 'CUSTOMER', types: ['PRE_AUTHORIZATION'],
  },
  // The acquirer approved after the platform gave up: the approval is reversed, and recorded
  // against the cancelled transaction, which stays cancelled.
  REVERSE: { from: [CANCELLED], to: CANCELLED, actor: 'SYSTEM', types: ALL_TYPES },
};

export const LIFECYCLE_EVENTS = Object.keys(TRANSITIONS) as LifecycleEvent[];

export type TransitionPlan = {
  event: LifecycleEvent;
  actor: Actor;
  /** The exact current state: the store's compare-and-set condition. */
  from: LifecycleState;
  to: LifecycleState;
  result?: TransactionResult;
  cancel_reason?: CancelReason;
};

const sameState = (a: LifecycleState, b: LifecycleState) => a.status === b.status && a.stage === b.stage;

/** The one place a transition is checked. Run the plan as
 * `UPDATE … SET to WHERE id = ? AND status = from.status AND stage = from.stage`; zero rows updated
 * means someone else moved first, so read again and plan again. */
export function planTransition(
  current: { type: TransactionType; status: PublicStatus; stage: TerminalStage },
  event: LifecycleEvent,
): Result<TransitionPlan, 'TRANSITION_NOT_ALLOWED'> {
  const rule = TRANSITIONS[event];
  if (!rule) return err('TRANSITION_NOT_ALLOWED', `unknown event ${String(event)}`);
  if (!rule.types.includes(current.type)) {
    return err('TRANSITION_NOT_ALLOWED', `${event} does not apply to a ${current.type} transaction`);
  }
  const from = rule.from.find((s) => sameState(s, current));
  if (!from) {
    return err(
      'TRANSITION_NOT_ALLOWED',
      `${event} is not allowed for a transaction that is ${current.status} (${current.stage})`,
    );
  }
  const plan: TransitionPlan = {
    event,
    actor: rule.actor,
    from: { status: from.status, stage: from.stage },
    to: { status: rule.to.status, stage: rule.to.stage },
  };
  if (rule.result) plan.result = rule.result;
  if (rule.cancel_reason) plan.cancel_reason = rule.cancel_reason;
  return ok(plan);
}

/** Applies one event to a transaction through the table: the moved transaction and the plan the
 * store runs as its compare-and-set, or why the event does not apply. */
export function apply(t: Transaction, event: LifecycleEvent): Result<{ plan: TransitionPlan; next: Transaction }, 'TRANSITION_NOT_ALLOWED'> {
  const planned = planTransition(t, event);
  if (!planned.ok) return planned;
  const plan = planned.value;
  return ok({
    plan,
    next: { ...t, status: plan.to.status, stage: plan.to.stage, result: plan.result ?? t.result, cancel_reason: plan.cancel_reason ?? t.cancel_reason },
  });
}

/** The reasons of cancellations that can only happen before a card reached the transaction. */
const CANCELLED_BEFORE_CARD = new Set(
  LIFECYCLE_EVENTS.filter((e) => TRANSITIONS[e].cancel_reason && TRANSITIONS[e].from.every((s) => s.stage === 'PENDING' || s.stage === 'RETRIEVED')).map(
    (e) => TRANSITIONS[e].cancel_reason,
  ),
);

/** Cancelled before any card was presented (by the customer, on the terminal, superseded, expired). */
export function cancelledBeforeCard(t: { status: PublicStatus; cancel_reason: CancelReason | null }): boolean {
  return t.status === 'CANCELLED' && CANCELLED_BEFORE_CARD.has(t.cancel_reason ?? undefined);
}
