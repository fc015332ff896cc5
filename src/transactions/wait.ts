import type { Result } from '../domain/result.js';
import type { StoreRef } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import type { ChangeSignals } from '../services/change-signals.js';
import type { Caller } from './context.js';
import type { PollConnection } from './held-poll.js';
import type { readTransactions } from './read.js';

type Status = Result<{ store: StoreRef; transaction: Transaction }, 'NOT_FOUND'>;

/** Final for the customer system: nothing it waits for comes after (a capture or release of an
 * authorized pre-authorization is its own request). */
export const isFinalForBackend = (t: Transaction) =>
  t.status === 'CLEARED' || t.status === 'CANCELLED' || (t.status === 'AUTHORIZED' && t.type === 'PRE_AUTHORIZATION');

/** A status read that waits (`?wait=S`): answered at once when the transaction is final, else the
 * moment its status changes (heard from any instance through the change signals), or after S
 * seconds with the state it is in then. */
export class StatusWaits {
  private readonly held = new Set<AbortController>();

  constructor(
    private readonly read: ReturnType<typeof readTransactions>,
    private readonly changes: ChangeSignals,
    private readonly closing: AbortSignal,
  ) {
    closing.addEventListener('abort', () => {
      for (const wait of this.held) wait.abort();
    });
  }

  get heldWaits() {
    return this.held.size;
  }

  async status(caller: Caller, terminalId: string, id: string, waitS: number, connection?: PollConnection): Promise<Status> {
    const first = await this.read.status(caller, terminalId, id);
    if (!first.ok || waitS <= 0 || isFinalForBackend(first.value.transaction)) return first;
    const from = first.value.transaction.status;
    const deadline = Date.now() + waitS * 1000;
    const gone = new AbortController();
    const abort = () => gone.abort();
    if (this.closing.aborted) abort();
    this.held.add(gone);
    connection?.once('close', abort);
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0 || gone.signal.aborted) return await this.read.status(caller, terminalId, id);
        // Subscribed before looking, so a change committed in between is not missed.
        let unsubscribe = () => {};
        let timer: NodeJS.Timeout | undefined;
        const woken = new Promise<void>((resolve) => {
          unsubscribe = this.changes.subscribe(id, resolve);
          timer = setTimeout(resolve, remaining);
          gone.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        try {
          const now = await this.read.status(caller, terminalId, id);
          if (!now.ok || now.value.transaction.status !== from || isFinalForBackend(now.value.transaction)) return now;
          await woken;
        } finally {
          unsubscribe();
          clearTimeout(timer);
        }
      }
    } finally {
      this.held.delete(gone);
      connection?.off('close', abort);
    }
  }
}
