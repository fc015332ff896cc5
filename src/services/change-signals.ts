import type { TerminalNotifier } from './notifier.js';

/** Committed changes of transactions, told to whoever waits on one here (a status read with
 * `?wait=`) and to whoever wants to hear of every one (the webhook worker: an event was written).
 * Across instances sharing PostgreSQL the notifier carries them (LISTEN/NOTIFY). */
export interface ChangeSignals {
  /** Calls `listener` on every change of the transaction until the returned function is called. */
  subscribe(transactionId: string, listener: () => void): () => void;
  /** Calls `listener` on every change, whatever the transaction. */
  watch(listener: () => void): () => void;
}

class InProcessChangeSignals implements ChangeSignals {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly watchers = new Set<() => void>();

  notify(transactionId: string) {
    for (const watcher of this.watchers) watcher();
    const set = this.listeners.get(transactionId);
    if (set) for (const listener of [...set]) listener();
  }

  subscribe(transactionId: string, listener: () => void) {
    let set = this.listeners.get(transactionId);
    if (!set) {
      set = new Set();
      this.listeners.set(transactionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(transactionId) === set) this.listeners.delete(transactionId);
    };
  }

  watch(listener: () => void) {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  /** Every waiter looks again (changes may have been missed). */
  notifyAll() {
    for (const watcher of this.watchers) watcher();
    for (const id of [...this.listeners.keys()]) this.notify(id);
  }
}

/** The changes the terminal notifier hears, by transaction: this instance's moves at once, and on
 * PostgreSQL every other instance's from the trigger's notification in their commit. When changes
 * may have been missed (the listening connection was lost), every waiter looks again. */
export function changeSignalsOf(notifier: TerminalNotifier): ChangeSignals {
  const signals = new InProcessChangeSignals();
  notifier.watch((terminalId, transactionId) => {
    if (terminalId === null) signals.notifyAll();
    else if (transactionId !== undefined) signals.notify(transactionId);
  });
  return signals;
}
