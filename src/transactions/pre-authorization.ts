import { toMinorUnits } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import type { StoreRef } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { Caller, UseCaseContext } from './context.js';
import type { readTransactions } from './read.js';

type Completed = Result<{ store: StoreRef; transaction: Transaction }, 'NOT_FOUND' | 'TRANSITION_NOT_ALLOWED'>;

/** Completing an authorized pre-authorization without the card: capture (at most the authorized
 * amount, default all of it) or release, each once. */
export function completePreAuthorizations(ctx: UseCaseContext, read: ReturnType<typeof readTransactions>, settings: { maxAmountMinor: number }) {
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
      const moved = await ctx.gateway.move(t, 'CAPTURE', { at: ctx.now(), changes: () => ({ captured_minor: minor }) });
      if (!moved.ok) return err('TRANSITION_NOT_ALLOWED', `Pre-authorization ${id} was captured or released meanwhile.`);
      return ok({ store: found.value.store, transaction: moved.value });
    },

    async release(caller: Caller, terminalId: string, id: string): Promise<Completed> {
      const found = await read.status(caller, terminalId, id);
      if (!found.ok) return found;
      const t = found.value.transaction;
      const moved = await ctx.gateway.move(t, 'RELEASE', { at: ctx.now() });
      if (!moved.ok) return notCompletable((await ctx.gateway.findById(id)) ?? t, 'released');
      return ok({ store: found.value.store, transaction: moved.value });
    },
  };
}

const notCompletable = (t: Transaction, verb: string) =>
  err('TRANSITION_NOT_ALLOWED', `Only an AUTHORIZED pre-authorization can be ${verb}, once; ${t.id} is a ${t.type} that is ${t.status}.`);
