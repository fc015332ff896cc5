import type { UseCaseContext } from './context.js';
import type { PresentCard } from './present-card.js';
import { receiptsOf } from './receipt.js';

/** Background work that ends transactions nobody else will: expiry of what no terminal fetched in
 * time, and recovery of what a crashed process left waiting on the acquirer. */
export function sweeps(ctx: UseCaseContext, presentCard: PresentCard, acquirerTimeoutMs: number) {
  return {
    async expireDue() {
      const due = await ctx.queries.pendingDue(ctx.now());
      for (const t of due) await ctx.gateway.move(t, 'EXPIRE', { at: ctx.now() });
      return due.length;
    },

    /** So that its terminal is free again; no outcome was recorded, so none is claimed. */
    async recoverAbandoned() {
      const stuck = await ctx.queries.cardPresentedBefore(ctx.now() - 2 * acquirerTimeoutMs - 5_000);
      for (const t of stuck) {
        if (presentCard.isRunning(t.id)) continue;
        const terminal = await ctx.terminals.terminalByPk(t.terminal_pk);
        const at = ctx.now();
        const receipts = terminal ? receiptsOf(terminal, t, at, 'CANCELLED') : {};
        await ctx.gateway.move(t, 'ACQUIRER_FAILURE', { at, changes: () => ({ transaction_at: at, ...receipts }), detail: 'no outcome recorded: abandoned' });
      }
      return stuck.length;
    },
  };
}
