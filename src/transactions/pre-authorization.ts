import { completionOf, type Acquirer } from '../acquirer/acquirer.js';
import { toMinorUnits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import type { StoreRef } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { Caller, UseCaseContext } from './context.js';
import type { readTransactions } from './read.js';

type AcquirerRefusal = 'ACQUIRER_NOT_CONFIGURED' | 'ACQUIRER_REFUSED' | 'ACQUIRER_UNAVAILABLE';
type Completed = Result<{ store: StoreRef; transaction: Transaction }, 'NOT_FOUND' | 'TRANSITION_NOT_ALLOWED' | AcquirerRefusal>;

/** Completing an authorized pre-authorization without the card: capture (at most the authorized
 * amount, default all of it) or release, each once. The acquirer is asked first, outside any
 * database transaction, and decides between a capture and a release that race; only what it
 * accepted is recorded. Connectors must accept a retried completion, so a crash between the two
 * steps is mended by the customer's retry. */
export function completePreAuthorizations(
  ctx: UseCaseContext,
  read: ReturnType<typeof readTransactions>,
  acquirer: Acquirer | undefined,
  settings: { maxAmountMinor: number; acquirerTimeoutMs: number },
) {
  const ask = async (kind: 'capture' | 'release', terminalId: string, t: Transaction, amountMinor: number): Promise<Result<void, AcquirerRefusal>> => {
    if (!acquirer) return err('ACQUIRER_NOT_CONFIGURED', `No acquirer connector is configured: set ACQUIRER_MODULE to ${kind} pre-authorizations.`);
    const request = completionOf({ transaction_id: t.id, amount_minor: t.amount_minor, currency: t.currency, terminal_id: terminalId, stan: t.stan }, t, amountMinor);
    try {
      const answer = await acquirer[kind](request, AbortSignal.timeout(settings.acquirerTimeoutMs));
      return answer.outcome === 'ACCEPTED' ? ok(undefined) : err('ACQUIRER_REFUSED', `The acquirer refused to ${kind} pre-authorization ${t.id}: ${answer.reason}.`);
    } catch {
      return err('ACQUIRER_UNAVAILABLE', `The acquirer did not answer; pre-authorization ${t.id} is still AUTHORIZED: retry the ${kind}.`);
    }
  };

  return {
    async capture(
      caller: Caller,
      terminalId: string,
      id: string,
      amount?: { value: number; currency: string },
    ): Promise<Completed | Result<never, 'INVALID_AMOUNT' | 'UNKNOWN_CURRENCY' | 'CURRENCY_NOT_ACCEPTED' | 'CAPTURE_EXCEEDS_AUTHORIZATION'>> {
      const found = await read.status(caller, terminalId, id);
      if (!found.ok) return found;
      const t = found.value.transaction;
      // Asked before the amount, so that capturing anything but an authorized pre-authorization is a 409 whatever the amount.
      if (!apply(t, 'CAPTURE').ok) return notCompletable(t, 'captured');
      let minor = t.amount_minor;
      if (amount) {
        const parsed = toMinorUnits(amount.value, amount.currency, settings.maxAmountMinor);
        if (!parsed.ok) return parsed;
        if (amount.currency !== t.currency) return err('CURRENCY_NOT_ACCEPTED', `Pre-authorization ${id} is in ${t.currency}; capture it in ${t.currency}.`);
        if (parsed.value > t.amount_minor) return err('CAPTURE_EXCEEDS_AUTHORIZATION', `The capture exceeds the ${t.amount_minor} minor units of ${t.currency} authorized.`);
        minor = parsed.value;
      }
      const asked = await ask('capture', terminalId, t, minor);
      if (!asked.ok) return asked;
      const at = ctx.now();
      const moved = await ctx.gateway.move(t, 'CAPTURE', { at, changes: () => ({ captured_minor: minor, captured_at: at }) });
      if (!moved.ok) return err('TRANSITION_NOT_ALLOWED', `Pre-authorization ${id} was captured or released meanwhile.`);
      return ok({ store: found.value.store, transaction: moved.value });
    },

    async release(caller: Caller, terminalId: string, id: string): Promise<Completed> {
      const found = await read.status(caller, terminalId, id);
      if (!found.ok) return found;
      const t = found.value.transaction;
      if (!apply(t, 'RELEASE').ok) return notCompletable(t, 'released');
      const asked = await ask('release', terminalId, t, t.amount_minor);
      if (!asked.ok) return asked;
      const moved = await ctx.gateway.move(t, 'RELEASE', { at: ctx.now() });
      if (!moved.ok) return notCompletable((await ctx.queries.findById(id)) ?? t, 'released');
      return ok({ store: found.value.store, transaction: moved.value });
    },
  };
}

const notCompletable = (t: Transaction, verb: string) =>
  err('TRANSITION_NOT_ALLOWED', `Only an AUTHORIZED pre-authorization can be ${verb}, once; ${t.id} is a ${t.type} that is ${t.status}.`);
