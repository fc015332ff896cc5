import { err, ok, type Result } from '../domain/result.js';
import type { StoreRef, Terminal } from '../domain/terminal.js';
import { isTransactionId, type Transaction } from '../domain/transaction.js';
import { parseTerminalId, terminalKey } from '../domain/terminal-id.js';
import type { Caller, UseCaseContext } from './context.js';
import type { TransactionFilter } from './transaction-queries.js';
import type { StatusViews } from './status-views.js';

export interface StatusFound {
  store: StoreRef;
  transaction: Transaction;
}

/** Reading transactions: the MerchantAPI's status read and list, and a terminal's own look. */
export function readTransactions(ctx: UseCaseContext, views: StatusViews) {
  /** A transaction past its expiry is shown expired, even before the sweep gets to it. */
  const expireIfDue = async (t: Transaction) => {
    const now = ctx.now();
    if (t.expires_at > now) return t;
    const moved = await ctx.gateway.move(t, 'EXPIRE', { at: now });
    return moved.ok ? moved.value : t;
  };

  /** The terminal's key when both ids are well-formed (anything else is not found). */
  const keyOf = (terminalId: string, id: string) => {
    const parts = parseTerminalId(terminalId);
    return parts && isTransactionId(id) ? terminalKey(parts) : undefined;
  };
  const notFound = (terminalId: string, id: string) => err('NOT_FOUND', `There is no transaction ${id} on terminal ${terminalId}.`);

  return {
    async status(caller: Caller, terminalId: string, id: string): Promise<Result<StatusFound, 'NOT_FOUND'>> {
      const key = keyOf(terminalId, id);
      const found = key === undefined ? undefined : await ctx.queries.findForCustomer(caller.customerId, key, id);
      if (!found) return notFound(terminalId, id);
      return ok({ store: found.store, transaction: await expireIfDue(found.transaction) });
    },

    /** The status read as the bytes `render` makes of it, from memory while the transaction has not
     * changed since (a view is kept only for a path that named it, so the ids need no check then). */
    async statusView(caller: Caller, terminalId: string, id: string, render: (found: StatusFound) => string): Promise<Result<string, 'NOT_FOUND'>> {
      const known = views.get(caller.customerId, terminalId, id, ctx.now());
      if (known !== undefined) return ok(known);
      const key = keyOf(terminalId, id);
      if (key === undefined) return notFound(terminalId, id);
      const ticket = views.ticket();
      const found = await ctx.queries.findForCustomer(caller.customerId, key, id);
      if (!found) return notFound(terminalId, id);
      const transaction = await expireIfDue(found.transaction);
      const body = render({ store: found.store, transaction });
      views.set(ticket, caller.customerId, terminalId, id, body, transaction.stage === 'PENDING' ? transaction.expires_at : Infinity);
      return ok(body);
    },

    async list(caller: Caller, terminalId: string, filter: TransactionFilter, offset: number, limit: number): Promise<Result<{ terminal: Terminal; total: number; transactions: Transaction[] }, 'NOT_FOUND'>> {
      const found = await ctx.terminals.customerTerminal(caller.customerId, terminalId);
      if (!found.ok) return found;
      return ok({ terminal: found.value, ...(await ctx.queries.list(found.value.pk, filter, offset, limit)) });
    },

    /** One transaction of the terminal asking (has the one on screen been cancelled?). */
    async forTerminal(terminal: Terminal, id: string): Promise<Result<Transaction, 'NOT_FOUND'>> {
      const t = isTransactionId(id) ? await ctx.queries.findForTerminal(terminal.pk, id) : undefined;
      return t ? ok(t) : err('NOT_FOUND', `There is no transaction ${id} for this terminal.`);
    },
  };
}
