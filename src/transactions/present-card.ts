import { completionOf, type Acquirer, type AuthorizationResponse } from '../acquirer/acquirer.js';
import { validateCard, type EntryMode } from '../domain/card.js';
import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { isTransactionId, type Transaction } from '../domain/transaction.js';
import { cancelledBeforeCard, type LifecycleEvent } from '../domain/transaction-lifecycle.js';
import type { UseCaseContext } from './context.js';
import { receiptsOf } from './receipt.js';

export interface PresentedCard {
  entry_mode: EntryMode;
  card: { number: string; expiry: string };
}

/** The card was presented on the terminal: claim the transaction (the compare-and-set that a
 * cancel races), ask the acquirer outside any database transaction, record the outcome. Reporting
 * the same card again answers the same outcome, waiting for it while it is being decided. */
export class PresentCard {
  /** Authorizations this process is running, by transaction id. */
  private readonly running = new Map<string, Promise<Transaction>>();

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly acquirer: Acquirer | undefined,
    private readonly acquirerTimeoutMs: number,
  ) {}

  /** Whether this process is still waiting on the acquirer for the transaction. */
  isRunning(id: string) {
    return this.running.has(id);
  }

  async run(terminal: Terminal, id: string, presented: PresentedCard): Promise<Result<Transaction, 'NOT_FOUND' | 'INVALID_CARD' | 'TRANSACTION_CLOSED' | 'ACQUIRER_NOT_CONFIGURED'>> {
    const acquirer = this.acquirer;
    if (!acquirer) return err('ACQUIRER_NOT_CONFIGURED', 'No acquirer connector is configured (ACQUIRER_MODULE): terminals report their outcomes through /presented and /outcome.');
    const card = validateCard(presented.card, new Date(this.ctx.now()));
    if (!card.ok) return card;
    const t = isTransactionId(id) ? await this.ctx.queries.findForTerminal(terminal.pk, id) : undefined;
    if (!t) return err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
    const claimed = await this.ctx.gateway.move(t, 'PRESENT_CARD', {
      at: this.ctx.now(),
      changes: () => ({ brand: card.value.brand, card_last4: card.value.last4, entry_mode: presented.entry_mode }),
      assignStan: true,
    });
    if (claimed.ok) {
      const authorizing = this.authorize(acquirer, terminal, claimed.value, presented);
      this.running.set(id, authorizing);
      try {
        return ok(await authorizing);
      } finally {
        this.running.delete(id);
      }
    }
    // Not claimable: a card reached it already (this report repeats one), or it is closed.
    const current = (await this.ctx.queries.findById(id)) ?? t;
    if (cancelledBeforeCard(current)) return err('TRANSACTION_CLOSED', `Transaction ${id} was cancelled (${current.cancel_reason}) before the card was presented.`);
    if (current.status === 'CREATED' && current.stage === 'PENDING') return err('TRANSACTION_CLOSED', `Transaction ${id} has not been fetched by this terminal.`);
    return ok(await (this.running.get(id) ?? current));
  }

  private async authorize(acquirer: Acquirer, terminal: Terminal, t: Transaction, presented: PresentedCard): Promise<Transaction> {
    const signal = AbortSignal.timeout(this.acquirerTimeoutMs);
    const asked = acquirer.authorize(
      {
        transaction_id: t.id,
        type: t.type,
        amount_minor: t.amount_minor,
        currency: t.currency,
        card: { number: presented.card.number, expiry: presented.card.expiry, entry_mode: presented.entry_mode },
        terminal_id: terminal.id,
        stan: t.stan!,
      },
      signal,
    );
    // The platform gives up when the signal fires, whether or not the connector honours it.
    const gaveUp = new Promise<'gave up'>((resolve) => signal.addEventListener('abort', () => resolve('gave up'), { once: true }));
    let response: AuthorizationResponse | undefined;
    let late: Promise<AuthorizationResponse> | undefined;
    try {
      const first = await Promise.race([asked, gaveUp]);
      if (first === 'gave up') late = asked;
      else response = first;
    } catch {
      // Unreachable or broken: nobody decided. The transaction ends without a result.
      response = undefined;
    }
    const event: LifecycleEvent = !response ? 'ACQUIRER_FAILURE' : response.outcome === 'DECLINED' ? 'DECLINE' : t.type === 'PRE_AUTHORIZATION' ? 'AUTHORIZE' : 'APPROVE';
    const at = this.ctx.now();
    const brand = response?.brand && response.brand !== 'UNKNOWN' ? response.brand : t.brand;
    const receipts = receiptsOf(terminal, { ...t, brand }, at, response ? response.outcome : 'CANCELLED', response ?? {});
    const recorded = await this.ctx.gateway.move(t, event, {
      at,
      changes: () => ({ brand, transaction_at: at, ...receipts, authorization_code: response?.authorization_code ?? null, acquirer_reference: response?.acquirer_reference ?? null }),
    });
    // Once the give-up is recorded, an approval that still comes is reversed.
    void late?.then((answer) => this.reverseLate(acquirer, terminal, t, answer)).catch(() => {});
    // Whoever finished it (this request or the recovery sweep), the stored outcome is the answer.
    return recorded.ok ? recorded.value : ((await this.ctx.queries.findById(t.id)) ?? t);
  }

  /** An approval that came after the platform recorded the acquirer as unavailable: the money may
   * have moved for a payment nobody sees as paid, so it is reversed and the reversal recorded. */
  private async reverseLate(acquirer: Acquirer, terminal: Terminal, t: Transaction, late: AuthorizationResponse) {
    if (late.outcome !== 'APPROVED') return;
    const current = await this.ctx.queries.findById(t.id);
    if (!current || current.status !== 'CANCELLED' || current.result !== null) return;
    const request = completionOf({ transaction_id: t.id, amount_minor: t.amount_minor, currency: t.currency, terminal_id: terminal.id, stan: t.stan }, late);
    let outcome: string;
    try {
      const answer = await acquirer.reverse(request, AbortSignal.timeout(this.acquirerTimeoutMs));
      outcome = answer.outcome === 'ACCEPTED' ? 'reversed' : `reversal refused: ${answer.reason}`;
    } catch {
      outcome = 'reversal unanswered';
    }
    await this.ctx.gateway.move(current, 'REVERSE', { at: this.ctx.now(), detail: `late approval ${late.authorization_code ?? ''} ${outcome}`.replace(/\s+/g, ' ') });
  }
}
