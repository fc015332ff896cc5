import { computeDayTotals, localDay, renderDayTotalsReceipt } from '../domain/day-totals.js';
import { ok } from '../domain/result.js';
import type { Caller, UseCaseContext } from './context.js';

/** Today's totals of one terminal, "today" in its store's time zone. */
export function dayTotals(ctx: UseCaseContext) {
  return async (caller: Caller, terminalId: string) => {
    const found = await ctx.terminals.customerTerminal(caller.customerId, terminalId);
    if (!found.ok) return found;
    const terminal = found.value;
    const day = localDay(new Date(ctx.now()), terminal.store.timezone);
    const processed = await ctx.gateway.processedBetween(terminal.pk, day.start.getTime(), day.end.getTime());
    const totals = computeDayTotals(
      // A captured pre-authorization moved what was captured, not what was authorized.
      processed.map((t) => ({ ...t, amount_minor: t.captured_minor ?? t.amount_minor })),
      { currencies: [terminal.store.currency] },
    );
    const receipt = renderDayTotalsReceipt(totals, {
      merchant: terminal.merchant.name,
      store: terminal.store.name,
      store_address: terminal.store.address,
      terminal_id: terminal.id,
      date: day.date,
      width: terminal.store.receipt_width,
    });
    return ok({ terminal, date: day.date, timezone: terminal.store.timezone, totals, receipt });
  };
}
