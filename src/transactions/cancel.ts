import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { cancelledBeforeCard } from '../domain/transaction-lifecycle.js';
import type { Caller, UseCaseContext } from './context.js';
import type { readTransactions } from './read.js';

/** Cancelling by the customer system (DELETE) or on the terminal: allowed until a card is
 * presented, on the same compare-and-set a card presentation takes, so exactly one wins.
 * Cancelling what is already cancelled (and never reached a card) succeeds again, so a retried
 * DELETE is safe. */
export function cancelTransactions(ctx: UseCaseContext, read: ReturnType<typeof readTransactions>) {
  const cancel = async (t: Transaction, event: 'CANCEL_BY_CUSTOMER' | 'CANCEL_ON_TERMINAL'): Promise<Result<Transaction, 'NOT_CANCELLABLE'>> => {
    // The gateway tells the change to this instance's watchers and, on PostgreSQL, to the others.
    const moved = await ctx.gateway.move(t, event, { at: ctx.now() });
    if (moved.ok) return moved;
    const now = (await ctx.queries.findById(t.id)) ?? t;
    if (cancelledBeforeCard(now)) return ok(now);
    return err('NOT_CANCELLABLE', `Transaction ${t.id} can no longer be cancelled: a card has been presented (status ${now.status}${now.result ? `, result ${now.result}` : ''}).`);
  };

  return {
    async byCustomer(caller: Caller, terminalId: string, id: string): Promise<Result<Transaction, 'NOT_FOUND' | 'NOT_CANCELLABLE'>> {
      const found = await read.status(caller, terminalId, id);
      return found.ok ? cancel(found.value.transaction, 'CANCEL_BY_CUSTOMER') : found;
    },
    async onTerminal(terminal: Terminal, id: string): Promise<Result<Transaction, 'NOT_FOUND' | 'NOT_CANCELLABLE'>> {
      const found = await read.forTerminal(terminal, id);
      return found.ok ? cancel(found.value, 'CANCEL_ON_TERMINAL') : found;
    },
  };
}
