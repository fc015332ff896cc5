/** Reads of one kind by key (a device token's terminal, a terminal's open transaction) that are asked
 * together when they pile up. A read asked while fewer than `concurrency` of its kind run goes to
 * the store at once, alone: no read waits for a batch to fill. Those asked while they run wait for
 * one to end and go in the next, up to `maxBatch` keys in one query. So a fleet's first polls after
 * a start (thousands a second, each with a token and a pending payment to look up) cost a few
 * queries, and hold at most `concurrency` of the pool's connections, instead of two each. */
export class BatchedReads<K, V> {
  private readonly waiting = new Map<K, Array<{ resolve: (value: V | undefined) => void; reject: (e: unknown) => void }>>();
  private running = 0;

  constructor(
    /** The rows of `keys`, by key; a key without a row is not in the map. */
    private readonly readMany: (keys: K[]) => Promise<Map<K, V>>,
    private readonly concurrency = 2,
    private readonly maxBatch = 500,
  ) {}

  read(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const asked = this.waiting.get(key);
      if (asked) asked.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      this.next();
    });
  }

  private next() {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      const batch = new Map<K, Array<{ resolve: (value: V | undefined) => void; reject: (e: unknown) => void }>>();
      for (const [key, askers] of this.waiting) {
        batch.set(key, askers);
        this.waiting.delete(key);
        if (batch.size === this.maxBatch) break;
      }
      this.running++;
      this.readMany([...batch.keys()]).then(
        (found) => {
          for (const [key, askers] of batch) for (const asker of askers) asker.resolve(found.get(key));
        },
        (e: unknown) => {
          for (const askers of batch.values()) for (const asker of askers) asker.reject(e);
        },
      ).finally(() => {
        this.running--;
        this.next();
      });
    }
  }
}
