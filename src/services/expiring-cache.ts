/** Rows looked up by a secret's hash, trusted for `ttlMs` before the store is asked again; past
 * `max` entries the oldest goes. A row not found is never kept. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  async get(key: string, now: number, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit && now - hit.at <= this.ttlMs) return hit.value;
    const value = await load();
    if (value === undefined || this.ttlMs <= 0) {
      this.entries.delete(key);
      return value;
    }
    this.entries.set(key, { value, at: now });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  delete(key: string) {
    this.entries.delete(key);
  }
}
