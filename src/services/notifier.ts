/** Wakes terminals that long-poll for their next transaction. Behind an interface so that a
 * transaction created through one server instance can wake a terminal held by another
 * (PostgreSQL LISTEN/NOTIFY); in-process is enough for a single instance. */
export interface TerminalNotifier {
  start?(): Promise<void>;
  notify(terminalId: number): void;
  /** Calls `listener` on every notification for the terminal until the returned function is called. */
  subscribe(terminalId: number, listener: () => void): () => void;
  /** Calls `listener` on every notification, whatever the terminal, and with null when
   * notifications may have been missed (so anything known about any terminal must be forgotten). */
  watch?(listener: (terminalId: number | null) => void): () => void;
  /** How long "no notification for this terminal" may be trusted to mean "nothing was created
   * for it": what this notifier sees of other writers, and how late. */
  readonly completenessMs: number;
  close(): Promise<void>;
}

export class InProcessNotifier implements TerminalNotifier {
  /** One instance sees every creation (SQLite serves one instance), at once. */
  readonly completenessMs = 10_000;
  private readonly listeners = new Map<number, Set<() => void>>();
  private readonly watchers = new Set<(terminalId: number | null) => void>();

  notify(terminalId: number) {
    for (const watcher of this.watchers) watcher(terminalId);
    const set = this.listeners.get(terminalId);
    if (!set) return;
    for (const listener of [...set]) listener();
  }

  subscribe(terminalId: number, listener: () => void) {
    let set = this.listeners.get(terminalId);
    if (!set) {
      set = new Set();
      this.listeners.set(terminalId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(terminalId) === set) this.listeners.delete(terminalId);
    };
  }

  /** Wakes every listener (they look again for themselves). */
  notifyAll() {
    for (const watcher of this.watchers) watcher(null);
    for (const id of [...this.listeners.keys()]) this.notify(id);
  }

  watch(listener: (terminalId: number | null) => void) {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  async close() {
    this.listeners.clear();
  }
}

/** Resolves on the first notification for the terminal, after `ms`, or when `signal` aborts. */
export function waitForNotification(notifier: TerminalNotifier, terminalId: number, ms: number, signal?: AbortSignal): { ready: Promise<'notified' | 'timeout' | 'aborted'>; cancel: () => void } {
  let cancel = () => {};
  const ready = new Promise<'notified' | 'timeout' | 'aborted'>((resolve) => {
    const done = (why: 'notified' | 'timeout' | 'aborted') => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onAbort = () => done('aborted');
    const timer = setTimeout(() => done('timeout'), ms);
    const unsubscribe = notifier.subscribe(terminalId, () => done('notified'));
    if (signal?.aborted) done('aborted');
    else signal?.addEventListener('abort', onAbort, { once: true });
    cancel = () => done('aborted');
  });
  return { ready, cancel };
}
