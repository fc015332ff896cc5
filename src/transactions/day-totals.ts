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
    const [start, end] = [day.start.getTime(), day.end.getTime()];
    const processed = await ctx.queries.processedBetween(terminal.pk, start, end);
    const totals = computeDayTotals(
      processed
        // A captured pre-authorization moved its money the day it was captured, not the day it was authorized…
        .filter((t) => t.captured_at === null || (t.captured_at >= start && t.captured_at < end))
        // …and what was captured, not what was authorized.
        .map((t) => ({ ...t, amount_minor: t.captured_minor ?? t.amount_minor })),
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
