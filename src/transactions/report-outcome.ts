import { createHash } from 'node:crypto';
import type { Brand, EntryMode } from '../domain/card.js';
import type { CardholderVerification } from '../domain/receipt.js';
import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import { isTransactionId, type Transaction } from '../domain/transaction.js';
import { apply, cancelledBeforeCard, type LifecycleEvent } from '../domain/transaction-lifecycle.js';
import type { UseCaseContext } from './context.js';
import { receiptsOf } from './receipt.js';

/** What a terminal's own payment app reports once it has the acquirer's answer. */
export interface ReportedOutcome {
  result: 'APPROVED' | 'DECLINED';
  entry_mode: EntryMode;
  card: { brand: Brand; last4: string };
  authorization_code?: string;
  acquirer_reference?: string;
  emv?: { aid?: string; application_label?: string; cvm?: CardholderVerification };
  decline_reason?: string;
}

type Refusal = 'NOT_FOUND' | 'TRANSACTION_CLOSED' | 'OUTCOME_CONFLICT';

/** A real terminal authorizes with its acquirer itself and never hands the card number over: it
 * says the card was presented (the compare-and-set a DELETE races), then reports the outcome. The
 * platform assigns the STAN, builds the receipts and records the outcome; the same outcome reported
 * again answers the same transaction, a different one is refused. */
export function reportOutcomes(ctx: UseCaseContext) {
  const find = async (terminal: Terminal, id: string) => (isTransactionId(id) ? ctx.queries.findForTerminal(terminal.pk, id) : undefined);

  /** Why a transaction the terminal names can take no card, if it cannot. */
  const closed = (t: Transaction): Result<never, 'TRANSACTION_CLOSED'> | undefined => {
    if (cancelledBeforeCard(t)) return err('TRANSACTION_CLOSED', `Transaction ${t.id} was cancelled (${t.cancel_reason}) before the card was presented: reverse the payment on the terminal if it was authorized.`);
    if (t.stage === 'PENDING') return err('TRANSACTION_CLOSED', `Transaction ${t.id} has not been fetched by this terminal.`);
    return undefined;
  };

  const present = (t: Transaction, entryMode: EntryMode) =>
    ctx.gateway.move(t, 'PRESENT_CARD', { at: ctx.now(), changes: () => ({ entry_mode: entryMode }), assignStan: true });

  return {
    async presented(terminal: Terminal, id: string, entryMode: EntryMode): Promise<Result<Transaction, Exclude<Refusal, 'OUTCOME_CONFLICT'>>> {
      const t = await find(terminal, id);
      if (!t) return err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
      const moved = await present(t, entryMode);
      if (moved.ok) return moved;
      // Said twice, or said after the outcome: the transaction as it stands.
      const current = (await ctx.queries.findById(id)) ?? t;
      return closed(current) ?? ok(current);
    },

    async outcome(terminal: Terminal, id: string, outcome: ReportedOutcome): Promise<Result<Transaction, Refusal>> {
      let t = await find(terminal, id);
      if (!t) return err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
      const digest = outcomeDigest(outcome);
      // An outcome without `presented` first is accepted from RETRIEVED.
      if (apply(t, 'PRESENT_CARD').ok) {
        const presented = await present(t, outcome.entry_mode);
        t = presented.ok ? presented.value : ((await ctx.queries.findById(id)) ?? t);
      }
      const event: LifecycleEvent = outcome.result === 'DECLINED' ? 'DECLINE' : t.type === 'PRE_AUTHORIZATION' ? 'AUTHORIZE' : 'APPROVE';
      const at = ctx.now();
      const recorded = await ctx.gateway.move(t, event, {
        at,
        changes: (current) => {
          const withCard = { ...current, brand: outcome.card.brand, card_last4: outcome.card.last4, entry_mode: outcome.entry_mode };
          return {
            brand: outcome.card.brand,
            card_last4: outcome.card.last4,
            entry_mode: outcome.entry_mode,
            authorization_code: outcome.authorization_code ?? null,
            acquirer_reference: outcome.acquirer_reference ?? null,
            outcome_hash: digest,
            transaction_at: at,
            ...receiptsOf(terminal, withCard, at, outcome.result, outcome),
          };
        },
      });
      if (recorded.ok) return recorded;
      const current = (await ctx.queries.findById(id)) ?? t;
      if (current.outcome_hash === digest) return ok(current);
      return (
        closed(current) ??
        err('OUTCOME_CONFLICT', `Transaction ${id} already has an outcome (${current.status}${current.result ? `/${current.result}` : ''}): a different one cannot replace it.`)
      );
    },
  };
}

/** The same report, whatever the order of its members. */
function outcomeDigest(o: ReportedOutcome): string {
  const canonical = (v: unknown): string =>
    v && typeof v === 'object'
      ? `{${Object.entries(v)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
          .join(',')}}`
      : JSON.stringify(v);
  return createHash('sha256').update(canonical(o)).digest('hex');
}
