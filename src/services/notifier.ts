import type { Transaction } from '../domain/transaction.js';

/** Told of every change: the terminal and the transaction that changed, or null when changes
 * may have been missed (so anything known about any terminal or transaction must be forgotten);
 * with the transaction itself when it was just created on this instance. */
export type ChangeWatcher = (terminalId: number | null, transactionId?: string, created?: Transaction) => void;

/** What a held poll is to the notifier. */
export interface PollListener {
  wake(): void;
}

/** Wakes terminals that long-poll for their next transaction, and tells what remembers transactions
 * (the idle hints, the status views) that one changed. Behind an interface so that a change made
 * through one server instance reaches another (PostgreSQL LISTEN/NOTIFY); in-process is enough for
 * a single instance. */
export interface TerminalNotifier {
  start?(): Promise<void>;
  /** A transaction was created for the terminal (or the terminal should look again): wakes its
   * polls on this instance and tells the watchers (`created`: the transaction as committed here). */
  notify(terminalId: number, transactionId?: string, created?: Transaction): void;
  /** A transaction changed and committed on this instance: tells the watchers, wakes nobody. */
  changed(terminalId: number, transactionId: string): void;
  /** Wakes `listener` on every notification for the terminal until it is unsubscribed (the held
   * poll itself: no closure per subscription, a fleet holds one per terminal). */
  subscribe(terminalId: number, listener: PollListener): void;
  unsubscribe(terminalId: number, listener: PollListener): void;
  watch(listener: ChangeWatcher): () => void;
  /** Whether every change made anywhere reaches the watchers now, within the time a notification
   * takes: while it does not, nothing remembered about a transaction may answer for the store. */
  trusted(): boolean;
  close(): Promise<void>;
}

/** One instance sees every change (SQLite serves one instance), at once. */
export class InProcessNotifier implements TerminalNotifier {
  /** The listeners of a terminal: one function while there is one (a held poll), a set beyond. */
  private readonly listeners = new Map<number, PollListener | Set<PollListener>>();
  private readonly watchers = new Set<ChangeWatcher>();

  notify(terminalId: number, transactionId?: string, created?: Transaction) {
    for (const watcher of this.watchers) watcher(terminalId, transactionId, created);
    const found = this.listeners.get(terminalId);
    if (found === undefined) return;
    if (found instanceof Set) for (const listener of [...found]) listener.wake();
    else found.wake();
  }

  changed(terminalId: number, transactionId: string) {
    for (const watcher of this.watchers) watcher(terminalId, transactionId);
  }

  subscribe(terminalId: number, listener: PollListener) {
    const found = this.listeners.get(terminalId);
    if (found === undefined) this.listeners.set(terminalId, listener);
    else if (found instanceof Set) found.add(listener);
    else this.listeners.set(terminalId, new Set([found, listener]));
  }

  unsubscribe(terminalId: number, listener: PollListener) {
    const found = this.listeners.get(terminalId);
    if (found === listener) this.listeners.delete(terminalId);
    else if (found instanceof Set) {
      found.delete(listener);
      if (found.size === 0) this.listeners.delete(terminalId);
    }
  }

  /** Wakes every listener (they look again for themselves) and tells the watchers to forget. */
  notifyAll() {
    this.forget();
    for (const id of [...this.listeners.keys()]) this.notify(id);
  }

  /** Tells the watchers that changes may have been missed. */
  forget() {
    for (const watcher of this.watchers) watcher(null);
  }

  watch(listener: ChangeWatcher) {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  trusted() {
    return true;
  }

  async close() {
    this.listeners.clear();
  }
}
