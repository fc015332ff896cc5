import { randomInt } from 'node:crypto';
import type { Acquirer, AuthorizationResponse } from '../acquirer/acquirer.js';
import { validateCard, type CardSummary, type EntryMode } from '../domain/card.js';
import { computeDayTotals, localDay, renderDayTotalsReceipt } from '../domain/day-totals.js';
import { toMinorUnits } from '../domain/money.js';
import { renderReceipt, type ReceiptOutcome } from '../domain/receipt.js';
import { err, ok, type Result } from '../domain/result.js';
import { formatTerminalId, parseTerminalId, terminalKey } from '../domain/terminal-id.js';
import {
  INITIAL_STATE,
  planTransition,
  type LifecycleEvent,
  type PublicStatus,
  type TerminalStage,
  type TransactionType,
} from '../domain/transaction-lifecycle.js';
import type { Store } from '../store/database.js';
import type { Executor } from '../store/executor.js';
import type { OnboardingRepository, TerminalView } from '../store/onboarding-repository.js';
import type { TransactionRow } from '../store/schema.js';
import { TransactionRepository, type TransactionFilter } from '../store/transaction-repository.js';
import type { Caller } from './api-keys.js';
import type { TerminalNotifier } from './notifier.js';

/** What a transaction's view needs of its terminal. */
export type StoreOfTransaction = Pick<TerminalView, 'store_uuid' | 'store_name'>;

export interface CreateTransaction {
  type: TransactionType;
  merchant_order_reference: string;
  amount: { value: number; currency: string };
  reference?: { id: string };
}

export interface PresentedCard {
  entry_mode: EntryMode;
  card: { number: string; expiry: string };
}

export interface TransactionSettings {
  now: () => number;
  expiryMs: number;
  maxAmountMinor: number;
  acquirerTimeoutMs: number;
}

/** 31 decimal digits, like the guide's ids: ~100 random bits, unguessable. */
export function newTransactionId(): string {
  let id = String(randomInt(1, 10));
  while (id.length < 31) id += String(randomInt(0, 1e12)).padStart(12, '0');
  return id.slice(0, 31);
}

const asState = (t: TransactionRow) => ({ type: t.type as TransactionType, status: t.status as PublicStatus, stage: t.stage as TerminalStage });

/** How long the "nothing pending" hint of an idle poll is trusted. SQLite serves one instance, whose
 * notifier sees every creation. Instances sharing PostgreSQL learn of each other's creations by
 * LISTEN/NOTIFY a moment after the commit, and a lost listening connection may miss some: trust
 * the hint briefly there, so a missed creation costs a short poll at most this long. */
const IDLE_HINT_SQLITE_MS = 10_000;
const IDLE_HINT_SHARED_MS = 1_000;

type CreateError =
  | 'NOT_FOUND'
  | 'INVALID_AMOUNT'
  | 'UNKNOWN_CURRENCY'
  | 'CURRENCY_NOT_ACCEPTED'
  | 'TERMINAL_NOT_CLOUD_ENABLED'
  | 'REFERENCE_INVALID'
  | 'REFUND_EXCEEDS_PURCHASE'
  | 'TERMINAL_BUSY';

/** The transaction use cases. Each runs its rule inside one short database transaction and, where
 * the acquirer is asked, commits the intent first, asks outside any transaction, then records the
 * outcome with a compare-and-set: a race always ends with exactly one winner. */
export class TransactionService {
  readonly repo: TransactionRepository;
  private readonly inflight = new Map<string, Promise<Result<TransactionRow, never>>>();
  /** Terminals a poll found with nothing to do, and when: the "nothing pending" hint. */
  private readonly idle = new Map<number, number>();
  private idleHintMs = 0;
  private notifications = 0;

  constructor(
    private readonly store: Store,
    private readonly terminals: OnboardingRepository,
    private readonly acquirer: Acquirer,
    private readonly notifier: TerminalNotifier,
    private readonly settings: TransactionSettings,
  ) {
    this.repo = new TransactionRepository(store.db);
    // Only a creation makes a terminal busy, and every creation is followed by a notification for
    // its terminal: a notifier that reports them all lets an idle poll skip the database.
    if (notifier.watch) {
      this.idleHintMs = store.dialect === 'sqlite' ? IDLE_HINT_SQLITE_MS : IDLE_HINT_SHARED_MS;
      notifier.watch((terminalId) => {
        this.notifications++;
        if (terminalId === null) this.idle.clear();
        else this.idle.delete(terminalId);
      });
    }
  }

  private get lockRows() {
    return this.store.dialect === 'postgres';
  }

  /** The terminal a MerchantAPI path names, if it is the caller's. */
  async terminalOf(caller: Caller, terminalId: string): Promise<Result<TerminalView, 'NOT_FOUND'>> {
    const parts = parseTerminalId(terminalId);
    const terminal = parts && (await this.terminals.findCustomerTerminal(caller.customerId, terminalKey(parts)));
    return terminal ? ok(terminal) : err('NOT_FOUND', `There is no terminal ${terminalId}.`);
  }

  async find(caller: Caller, terminalId: string, id: string): Promise<Result<{ terminal: StoreOfTransaction; transaction: TransactionRow }, 'NOT_FOUND'>> {
    const parts = parseTerminalId(terminalId);
    const found = parts && /^\d{1,40}$/.test(id) ? await this.repo.findForCustomer(caller.customerId, terminalKey(parts), id) : undefined;
    if (!found) return err('NOT_FOUND', `There is no transaction ${id} on terminal ${terminalId}.`);
    return ok({ terminal: found.store, transaction: await this.expireIfDue(found.transaction) });
  }


  async create(caller: Caller, terminalId: string, input: CreateTransaction): Promise<Result<{ terminal: TerminalView; transaction: TransactionRow }, CreateError>> {
    const found = await this.terminalOf(caller, terminalId);
    if (!found.ok) return found;
    const terminal = found.value;
    const { currency } = input.amount;
    const minor = toMinorUnits(input.amount.value, currency, this.settings.maxAmountMinor);
    if (!minor.ok) return minor;
    if (currency !== terminal.store_currency) {
      return err('CURRENCY_NOT_ACCEPTED', `Terminal ${formatTerminalId(terminal)} accepts ${terminal.store_currency}, not ${currency}.`);
    }
    if (terminal.cloud_integration !== 1) {
      return err('TERMINAL_NOT_CLOUD_ENABLED', `Terminal ${formatTerminalId(terminal)} is not in cloud integration mode.`);
    }
    if (input.reference && input.type !== 'REFUND') {
      return err('REFERENCE_INVALID', `Only a REFUND takes a reference; a ${input.type} does not.`);
    }
    const id = newTransactionId();
    const terminalPk = Number(terminal.id);
    try {
      const outcome = await this.store.db.transaction().execute(async (tx): Promise<Result<TransactionRow, CreateError>> => {
        const now = this.settings.now();
        const active = await this.repo.lockTerminalFindActive(terminalPk, tx, this.lockRows);
        if (input.reference) {
          const checked = await this.checkRefund(caller, input.reference.id, minor.value, currency, tx);
          if (!checked.ok) return checked;
        }
        if (active) {
          const busy = err('TERMINAL_BUSY', `Terminal ${formatTerminalId(terminal)} is busy with transaction ${active.id}: it has been fetched by the terminal already.`);
          if (active.stage !== 'PENDING') return busy;
          // Not fetched yet: the new payment takes its place (or it had expired anyway).
          const event: LifecycleEvent = active.expires_at <= now ? 'EXPIRE' : 'SUPERSEDE';
          const moved = await this.transition(active, event, now, {}, tx, event === 'SUPERSEDE' ? `superseded by ${id}` : undefined);
          if (!moved) return busy;
        }
        const row: TransactionRow = {
          id,
          customer_id: caller.customerId,
          terminal_id: terminalPk,
          type: input.type,
          status: INITIAL_STATE.status,
          stage: INITIAL_STATE.stage,
          result: null,
          cancel_reason: null,
          merchant_order_reference: input.merchant_order_reference,
          amount_minor: minor.value,
          currency,
          captured_minor: null,
          reference_id: input.reference?.id ?? null,
          brand: null,
          card_last4: null,
          entry_mode: null,
          stan: null,
          authorization_code: null,
          receipt: null,
          created_at: now,
          expires_at: now + this.settings.expiryMs,
          transaction_at: null,
          updated_at: now,
        };
        await this.repo.insert(row, { actor: 'CUSTOMER' }, tx);
        return ok(row);
      });
      if (!outcome.ok) return outcome;
      this.notifier.notify(terminalPk);
      return ok({ terminal, transaction: outcome.value });
    } catch (e) {
      // The unique index on a terminal's open transaction is the last line: another writer won.
      if (/unique|duplicate key/i.test(String((e as Error).message))) {
        return err('TERMINAL_BUSY', `Terminal ${formatTerminalId(terminal)} is busy with another transaction.`);
      }
      throw e;
    }
  }

  /** A referenced refund: an approved purchase of the same customer and currency, whose approved and
   * in-flight refunds stay within it. Runs under the purchase's row lock. */
  private async checkRefund(caller: Caller, purchaseId: string, minor: number, currency: string, tx: Executor): Promise<Result<void, 'REFERENCE_INVALID' | 'REFUND_EXCEEDS_PURCHASE'>> {
    const purchase = /^\d{1,40}$/.test(purchaseId) ? await this.repo.lock(purchaseId, tx, this.lockRows) : undefined;
    if (!purchase || Number(purchase.customer_id) !== caller.customerId) {
      return err('REFERENCE_INVALID', `There is no purchase ${purchaseId} to refund.`);
    }
    const refundable = purchase.type === 'PURCHASE' || purchase.type === 'PRE_AUTHORIZATION';
    if (!refundable || purchase.status !== 'CLEARED' || purchase.result !== 'APPROVED') {
      return err('REFERENCE_INVALID', `Transaction ${purchaseId} is a ${purchase.type} that is ${purchase.status}${purchase.result ? `/${purchase.result}` : ''}: only an approved, cleared purchase can be refunded.`);
    }
    if (purchase.currency !== currency) {
      return err('REFERENCE_INVALID', `Purchase ${purchaseId} was made in ${purchase.currency}; the refund must be too.`);
    }
    const total = purchase.captured_minor ?? purchase.amount_minor;
    const used = await this.repo.refundedOrPending(purchaseId, tx);
    if (used + minor > total) {
      return err('REFUND_EXCEEDS_PURCHASE', `Refunds of purchase ${purchaseId} would exceed it: ${total - used} of ${total} minor units of ${currency} are left to refund.`);
    }
    return ok(undefined);
  }

  /** Plans and applies one life-cycle event as a compare-and-set. False: someone else moved first. */
  private async transition(t: TransactionRow, event: LifecycleEvent, at: number, changes: Partial<TransactionRow>, db?: Executor, detail?: string): Promise<boolean> {
    const plan = planTransition(asState(t), event);
    if (!plan.ok) return false;
    if (db) return this.repo.applyTransition(t.id, plan.value, at, changes, db, detail);
    return this.store.db.transaction().execute((tx) => this.repo.applyTransition(t.id, plan.value, at, changes, tx, detail));
  }

  /** Moves `t` by `event`, re-reading and re-planning when another writer got there first. */
  private async move(t: TransactionRow, event: LifecycleEvent, changes: (current: TransactionRow) => Partial<TransactionRow> = () => ({})): Promise<Result<TransactionRow, 'TRANSITION_NOT_ALLOWED'>> {
    let current = t;
    for (;;) {
      const plan = planTransition(asState(current), event);
      if (!plan.ok) return plan;
      const at = this.settings.now();
      if (await this.transition(current, event, at, changes(current))) {
        return ok((await this.repo.findById(current.id))!);
      }
      current = (await this.repo.findById(current.id))!;
    }
  }

  private async expireIfDue(t: TransactionRow): Promise<TransactionRow> {
    if (t.stage !== 'PENDING' || t.expires_at > this.settings.now()) return t;
    const moved = await this.move(t, 'EXPIRE');
    return moved.ok ? moved.value : ((await this.repo.findById(t.id)) ?? t);
  }

  async list(caller: Caller, terminalId: string, filter: TransactionFilter, offset: number, limit: number) {
    const found = await this.terminalOf(caller, terminalId);
    if (!found.ok) return found;
    const pk = Number(found.value.id);
    const [total, rows] = await Promise.all([this.repo.count(pk, filter), this.repo.page(pk, filter, offset, limit)]);
    return ok({ terminal: found.value, total, rows });
  }

  /** DELETE: 204 until a card is presented, 409 after. Cancelling what is already cancelled (and
   * never reached a card) succeeds again, so a retried DELETE is safe. */
  async cancel(caller: Caller, terminalId: string, id: string): Promise<Result<TransactionRow, 'NOT_FOUND' | 'NOT_CANCELLABLE'>> {
    const found = await this.find(caller, terminalId, id);
    if (!found.ok) return found;
    return this.cancelWith(found.value.transaction, 'CANCEL_BY_CUSTOMER');
  }

  private async cancelWith(t: TransactionRow, event: 'CANCEL_BY_CUSTOMER' | 'CANCEL_ON_TERMINAL'): Promise<Result<TransactionRow, 'NOT_CANCELLABLE'>> {
    const moved = await this.move(t, event);
    if (moved.ok) {
      this.notifier.notify(Number(t.terminal_id));
      return moved;
    }
    const now = (await this.repo.findById(t.id))!;
    if (now.status === 'CANCELLED' && now.card_last4 === null) return ok(now);
    return err('NOT_CANCELLABLE', `Transaction ${t.id} can no longer be cancelled: a card has been presented (status ${now.status}${now.result ? `, result ${now.result}` : ''}).`);
  }

  /** The terminal asks for its work: the transaction it already holds (so a lost answer is not a
   * lost payment), else the pending one, which becomes RETRIEVED. */
  async next(terminal: TerminalView): Promise<TransactionRow | null> {
    const pk = Number(terminal.id);
    const idleSince = this.idle.get(pk);
    if (idleSince !== undefined && this.settings.now() - idleSince < this.idleHintMs) return null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = this.notifications;
      const active = await this.repo.findActive(pk);
      if (!active) {
        // A creation that committed while we looked is notified after its commit, so after this
        // check: it clears the hint again. Any notification meanwhile: no hint this time.
        if (this.idleHintMs > 0 && this.notifications === seen) this.idle.set(pk, this.settings.now());
        return null;
      }
      if (active.stage !== 'PENDING') return active;
      const now = this.settings.now();
      if (active.expires_at <= now) {
        await this.transition(active, 'EXPIRE', now, {});
        continue;
      }
      if (await this.transition(active, 'RETRIEVE', now, {})) {
        return { ...active, stage: 'RETRIEVED', updated_at: now };
      }
    }
    return null;
  }

  async findForDevice(terminal: TerminalView, id: string) {
    return /^\d{1,40}$/.test(id) ? this.repo.findForTerminal(Number(terminal.id), id) : undefined;
  }

  async cancelOnTerminal(terminal: TerminalView, id: string): Promise<Result<TransactionRow, 'NOT_FOUND' | 'NOT_CANCELLABLE'>> {
    const t = await this.findForDevice(terminal, id);
    if (!t) return err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
    return this.cancelWith(t, 'CANCEL_ON_TERMINAL');
  }

  /** The card was presented: claim the transaction, ask the acquirer outside any database
   * transaction, record the outcome. Reporting the same card twice answers the same outcome. */
  async presentCard(terminal: TerminalView, id: string, presented: PresentedCard): Promise<Result<TransactionRow, 'NOT_FOUND' | 'INVALID_CARD' | 'TRANSACTION_CLOSED'>> {
    const card = validateCard(presented.card, new Date(this.settings.now()));
    if (!card.ok) return card;
    let t = await this.findForDevice(terminal, id);
    if (!t) return err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
    for (;;) {
      if (t.stage === 'CARD_PRESENTED') {
        const running = this.inflight.get(id);
        return running ? await running : ok(t);
      }
      if (t.stage === 'DONE') {
        if (t.card_last4 !== null) return ok(t);
        return err('TRANSACTION_CLOSED', `Transaction ${id} was cancelled (${t.cancel_reason ?? 'CANCELLED'}) before the card was presented.`);
      }
      if (t.stage === 'PENDING') return err('TRANSACTION_CLOSED', `Transaction ${id} has not been fetched by this terminal.`);
      const claimed = await this.claimForCard(t, card.value, presented.entry_mode);
      if (claimed) {
        const running = this.authorize(terminal, claimed, presented, card.value);
        this.inflight.set(id, running);
        try {
          return await running;
        } finally {
          this.inflight.delete(id);
        }
      }
      t = (await this.repo.findById(id))!;
    }
  }

  private async claimForCard(t: TransactionRow, card: CardSummary, entryMode: EntryMode): Promise<TransactionRow | null> {
    const plan = planTransition(asState(t), 'PRESENT_CARD');
    if (!plan.ok) return null;
    const at = this.settings.now();
    return this.store.db.transaction().execute(async (tx) => {
      const changes = { brand: card.brand, card_last4: card.last4, entry_mode: entryMode };
      if (!(await this.repo.applyTransition(t.id, plan.value, at, changes, tx))) return null;
      const { last_stan } = await this.repo.nextStan(Number(t.terminal_id), tx);
      const stan = String(last_stan).padStart(6, '0');
      await tx.updateTable('transactions').set({ stan }).where('id', '=', t.id).execute();
      return { ...t, ...changes, stan, status: plan.value.to.status, stage: plan.value.to.stage, updated_at: at };
    });
  }

  private async authorize(terminal: TerminalView, t: TransactionRow, presented: PresentedCard, card: CardSummary): Promise<Result<TransactionRow, never>> {
    let response: AuthorizationResponse | undefined;
    try {
      response = await this.acquirer.authorize(
        {
          transaction_id: t.id,
          type: t.type as TransactionType,
          amount_minor: t.amount_minor,
          currency: t.currency,
          card: { number: presented.card.number, expiry: presented.card.expiry, entry_mode: presented.entry_mode },
          terminal_id: formatTerminalId(terminal),
          stan: t.stan!,
        },
        AbortSignal.timeout(this.settings.acquirerTimeoutMs),
      );
    } catch {
      // Timeout, unreachable or broken: nobody decided. The transaction ends without a result.
      response = undefined;
    }
    const event: LifecycleEvent = !response
      ? 'ACQUIRER_FAILURE'
      : response.outcome === 'DECLINED'
        ? 'DECLINE'
        : t.type === 'PRE_AUTHORIZATION'
          ? 'AUTHORIZE'
          : 'APPROVE';
    const at = this.settings.now();
    const brand = response?.brand && response.brand !== 'UNKNOWN' ? response.brand : card.brand;
    const outcome: ReceiptOutcome = response ? response.outcome : 'CANCELLED';
    const receipt = this.receipt(terminal, { ...t, brand }, at, outcome, response?.authorization_code, response?.decline_reason);
    const changes = { brand, transaction_at: at, receipt, authorization_code: response?.authorization_code ?? null };
    await this.transition(t, event, at, changes);
    // Whoever finished it (this request or the recovery sweep), the stored outcome is the answer.
    return ok((await this.repo.findById(t.id))!);
  }

  private receipt(terminal: TerminalView, t: TransactionRow, at: number, outcome: ReceiptOutcome, authorizationCode?: string, declineReason?: string) {
    return renderReceipt(
      {
        merchant_name: terminal.merchant_name,
        store_name: terminal.store_name,
        store_address: terminal.store_address,
        terminal_id: formatTerminalId(terminal),
        type: t.type as TransactionType,
        transaction_datetime: new Date(at),
        timezone: terminal.store_timezone,
        brand: (t.brand ?? 'UNKNOWN') as never,
        card_last4: t.card_last4 ?? '????',
        entry_mode: (t.entry_mode ?? 'CHIP') as EntryMode,
        amount_minor: t.amount_minor,
        currency: t.currency,
        stan: t.stan ?? '000000',
        ...(authorizationCode && { authorization_code: authorizationCode }),
        outcome,
        ...(declineReason && { decline_reason: declineReason.replace(/_/g, ' ') }),
        copy: 'CARDHOLDER',
      },
      terminal.store_receipt_width,
    );
  }

  /** Completes an authorized pre-authorization without the card, for at most the authorized amount. */
  async capture(caller: Caller, terminalId: string, id: string, amount?: { value: number; currency: string }): Promise<Result<{ terminal: StoreOfTransaction; transaction: TransactionRow }, 'NOT_FOUND' | 'TRANSITION_NOT_ALLOWED' | 'INVALID_AMOUNT' | 'UNKNOWN_CURRENCY' | 'CURRENCY_NOT_ACCEPTED' | 'CAPTURE_EXCEEDS_AUTHORIZATION'>> {
    const found = await this.find(caller, terminalId, id);
    if (!found.ok) return found;
    const t = found.value.transaction;
    let minor = t.amount_minor;
    if (amount) {
      const parsed = toMinorUnits(amount.value, amount.currency, this.settings.maxAmountMinor);
      if (!parsed.ok) return parsed;
      if (amount.currency !== t.currency) return err('CURRENCY_NOT_ACCEPTED', `Pre-authorization ${id} is in ${t.currency}; capture it in ${t.currency}.`);
      minor = parsed.value;
    }
    const allowed = planTransition(asState(t), 'CAPTURE');
    if (!allowed.ok) return err('TRANSITION_NOT_ALLOWED', `Only an AUTHORIZED pre-authorization can be captured, once; ${id} is a ${t.type} that is ${t.status}.`);
    if (minor > t.amount_minor) return err('CAPTURE_EXCEEDS_AUTHORIZATION', `The capture exceeds the ${t.amount_minor} minor units of ${t.currency} authorized.`);
    const moved = await this.move(t, 'CAPTURE', () => ({ captured_minor: minor }));
    if (!moved.ok) return err('TRANSITION_NOT_ALLOWED', `Pre-authorization ${id} was captured or released meanwhile.`);
    return ok({ terminal: found.value.terminal, transaction: moved.value });
  }

  async release(caller: Caller, terminalId: string, id: string): Promise<Result<{ terminal: StoreOfTransaction; transaction: TransactionRow }, 'NOT_FOUND' | 'TRANSITION_NOT_ALLOWED'>> {
    const found = await this.find(caller, terminalId, id);
    if (!found.ok) return found;
    const t = found.value.transaction;
    const moved = await this.move(t, 'RELEASE');
    if (!moved.ok) {
      const now = (await this.repo.findById(id))!;
      return err('TRANSITION_NOT_ALLOWED', `Only an AUTHORIZED pre-authorization can be released, once; ${id} is a ${now.type} that is ${now.status}.`);
    }
    return ok({ terminal: found.value.terminal, transaction: moved.value });
  }

  /** Today's totals of one terminal, "today" in its store's time zone. */
  async dayTotals(caller: Caller, terminalId: string) {
    const found = await this.terminalOf(caller, terminalId);
    if (!found.ok) return found;
    const terminal = found.value;
    const day = localDay(new Date(this.settings.now()), terminal.store_timezone);
    const rows = await this.repo.processedBetween(Number(terminal.id), day.start.getTime(), day.end.getTime());
    const totals = computeDayTotals(
      rows.map((r) => ({
        type: r.type as TransactionType,
        status: r.status as PublicStatus,
        result: r.result as 'APPROVED' | 'DECLINED' | null,
        brand: r.brand as never,
        // A captured pre-authorization moved what was captured, not what was authorized.
        amount_minor: r.captured_minor ?? r.amount_minor,
        currency: r.currency,
      })),
      { currencies: [terminal.store_currency] },
    );
    const receipt = renderDayTotalsReceipt(totals, {
      merchant: terminal.merchant_name,
      store: terminal.store_name,
      store_address: terminal.store_address,
      terminal_id: formatTerminalId(terminal),
      date: day.date,
      width: terminal.store_receipt_width,
    });
    return ok({ terminal, date: day.date, timezone: terminal.store_timezone, totals, receipt });
  }

  /** Expires what no terminal fetched in time. */
  async expireDue() {
    const due = await this.repo.pendingDue(this.settings.now());
    for (const t of due) await this.transition(t, 'EXPIRE', this.settings.now(), {});
    return due.length;
  }

  /** Ends what a crashed process left waiting on the acquirer, so the terminal is free again. */
  async recoverAbandoned() {
    const cutoff = this.settings.now() - 2 * this.settings.acquirerTimeoutMs - 5_000;
    const stuck = await this.repo.cardPresentedBefore(cutoff);
    for (const t of stuck) {
      if (this.inflight.has(t.id)) continue;
      const terminal = await this.terminals.findTerminalById(Number(t.terminal_id));
      const at = this.settings.now();
      const receipt = terminal ? this.receipt(terminal, t, at, 'CANCELLED') : null;
      await this.transition(t, 'ACQUIRER_FAILURE', at, { transaction_at: at, receipt }, undefined, 'no outcome recorded: abandoned');
    }
    return stuck.length;
  }
}
