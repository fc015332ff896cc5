/** Which keys (terminals, transactions) changed since a moment: what lets a read of the store keep
 * its answer in memory only when the thing it read did not change while it ran, without a change
 * to anything else spoiling it. Under load changes arrive every few milliseconds, as often as a
 * read takes: a single counter for everything would let almost no read keep its answer.
 *
 * Bounded: the latest `max` changes are remembered; a moment older than the oldest of them answers
 * "changed" for every key (the caller then keeps nothing, which is always safe). */
export class RecentChanges<K> {
  /** Each key's latest change, oldest first. */
  private readonly changes = new Map<K, number>();
  private sequence = 0;
  /** Moments at or before this one cannot be answered for (a forgotten change or a reset). */
  private horizon = 0;

  constructor(private readonly max = 10_000) {}

  /** Now, to be passed to `unchangedSince` after the read. */
  moment(): number {
    return this.sequence;
  }

  changed(key: K) {
    this.changes.delete(key);
    this.changes.set(key, ++this.sequence);
    if (this.changes.size > this.max) {
      const [oldest, at] = this.changes.entries().next().value!;
      this.changes.delete(oldest);
      this.horizon = at;
    }
  }

  /** Anything may have changed (changes may have been missed). */
  reset() {
    this.changes.clear();
    this.horizon = ++this.sequence;
  }

  unchangedSince(key: K, moment: number): boolean {
    if (moment < this.horizon) return false;
    const at = this.changes.get(key);
    return at === undefined || at <= moment;
  }
}
