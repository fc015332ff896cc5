/** Rows looked up by a secret's hash (API keys, device tokens), kept in memory so that a busy
 * integration or a polling fleet costs no query per request. An entry lives until it is dropped
 * (the secret was revoked or replaced: see auth-changes.ts), or `maxAgeMs` at most as a safety net;
 * past `max` entries the oldest goes. A row not found is never kept.
 *
 * `trusted` says whether every change made elsewhere reaches `delete`/`clear` (the notification
 * listener is connected): while it does not, the store answers every lookup. A lookup that was
 * running when an entry was dropped keeps nothing, since it may have read the row before the change. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private generation = 0;

  constructor(
    private readonly maxAgeMs: number,
    private readonly max: number,
    private readonly trusted: () => boolean = () => true,
  ) {}

  /** The value kept for `key`, if it may be answered from memory now: no promise, no waiting. */
  peek(key: string, now: number): V | undefined {
    if (this.maxAgeMs <= 0 || !this.trusted()) return undefined;
    const hit = this.entries.get(key);
    return hit && now - hit.at <= this.maxAgeMs ? hit.value : undefined;
  }

  async get(key: string, now: number, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.peek(key, now);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const value = await load();
    if (value === undefined || this.maxAgeMs <= 0 || generation !== this.generation || !this.trusted()) {
      this.entries.delete(key);
      return value;
    }
    this.entries.delete(key);
    this.entries.set(key, { value, at: now });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  delete(key: string) {
    this.generation++;
    this.entries.delete(key);
  }

  clear() {
    this.generation++;
    this.entries.clear();
  }

  get size() {
    return this.entries.size;
  }
}
