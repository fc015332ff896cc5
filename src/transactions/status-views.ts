import type { TerminalNotifier } from '../services/notifier.js';
import { RecentChanges } from '../services/recent-changes.js';

/** What a status read answered, as the bytes it sent, kept until the transaction changes: every
 * change on this instance and, through the notifier, on every other drops its entry. A view is
 * answered only while the notifier vouches that changes are heard (`trusted`), and a pending
 * transaction's view only until its expiry (reading it then expires it). A read that was running
 * when its transaction changed keeps nothing, since it may have read the row before the change.
 * A view answers only its customer asking by the terminal id exactly as the path spelt it when the
 * view was made (the same spelling names the same terminal): another spelling reads the store. */
export class StatusViews {
  private readonly views = new Map<string, { customerId: number; terminalId: string; body: string; until: number }>();
  private readonly changes = new RecentChanges<string>();

  constructor(
    private readonly notifier: TerminalNotifier,
    private readonly max = 10_000,
  ) {
    notifier.watch((terminalId, transactionId) => {
      if (terminalId === null) {
        this.changes.reset();
        this.views.clear();
      } else if (transactionId !== undefined) {
        this.changes.changed(transactionId);
        this.views.delete(transactionId);
      } else {
        // A terminal told to look again, without a transaction: any of its may have changed.
        this.changes.reset();
      }
    });
  }

  /** The view of `id` kept for the customer and the terminal id of the path. */
  get(customerId: number, terminalId: string, id: string, now: number): string | undefined {
    const view = this.views.get(id);
    if (view === undefined || view.customerId !== customerId || view.terminalId !== terminalId || now >= view.until || !this.notifier.trusted()) return undefined;
    return view.body;
  }

  /** Taken before reading the store; `set` keeps nothing if anything changed since. */
  ticket(): number {
    return this.changes.moment();
  }

  set(ticket: number, customerId: number, terminalId: string, id: string, body: string, until: number) {
    if (!this.changes.unchangedSince(id, ticket) || !this.notifier.trusted()) return;
    this.views.delete(id);
    this.views.set(id, { customerId, terminalId, body, until });
    if (this.views.size > this.max) this.views.delete(this.views.keys().next().value!);
  }
}
