export const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

/** An event's `created_at` is stamped just before its transaction commits, an attempt's `at` when it
 * starts (it is recorded within seconds). Past this long, no more rows appear with an earlier time:
 * a transaction open longer, or an instance's clock ahead of another's by more, would leave a
 * count short by its rows (never the list). */
export const SETTLE_MS = 5 * MINUTE_MS;

/** The oldest time the event log and the delivery attempts show at `now`: the start of the hour that
 * holds the moment `retentionDays` ago. Retention deletes exactly what is before it, whole hours at
 * a time, so an hour a list shows is never half deleted; and at least `retentionDays` are kept. */
export function logHorizon(now: number, retentionDays: number): number {
  return Math.floor((now - retentionDays * 86_400_000) / HOUR_MS) * HOUR_MS;
}

/** A log's rows in one scope (a customer's events, an endpoint's attempts), by type and time. */
export interface TallySource<S> {
  /** How many rows of each type per bucket of time (the bucket: the time / its size) in [from, to). */
  countsByBucket(scope: S, from: number, to: number, bucketMs: number): Promise<Array<{ bucket: number; type: string; n: number }>>;
  /** How many rows of `type` (every type: undefined) from `from` on. */
  countFrom(scope: S, type: string | undefined, from: number): Promise<number>;
}

/** Counts of the buckets of one size, per type, over a span of time that only moves forward. */
class Buckets {
  /** bucket index → type → count; every bucket in [from, to) is known (absent: no events) */
  private readonly counts = new Map<number, Map<string, number>>();
  private from = 0;
  private to = 0;

  constructor(readonly size: number) {}

  /** Makes [from, to) known (both multiples of the size): what was known already is kept, what
   * fell behind `from` is forgotten, and what is new is summed from `finer` where it knows it all,
   * otherwise asked of `source`. */
  async cover<S>(source: TallySource<S>, scope: S, from: number, to: number, finer?: Buckets) {
    const keeps = this.to > this.from && from >= this.from && from <= this.to;
    const ask = keeps ? Math.max(from, this.to) : from;
    let added: Array<{ bucket: number; type: string; n: number }> = [];
    if (to > ask) added = finer?.knows(ask, to) ? finer.folded(ask, to, this.size) : await source.countsByBucket(scope, ask, to, this.size);
    // Nothing changes before the answer: a failed count leaves the span as it was.
    if (!keeps) this.counts.clear();
    else for (const bucket of this.counts.keys()) if (bucket * this.size < from) this.counts.delete(bucket);
    for (const { bucket, type, n } of added) {
      let types = this.counts.get(bucket);
      if (!types) this.counts.set(bucket, (types = new Map()));
      types.set(type, (types.get(type) ?? 0) + n);
    }
    this.from = from;
    this.to = Math.max(to, keeps ? this.to : to);
  }

  /** Where the known span starts, if it starts at or before `at` and knows up to `within` of it
   * (extending it from there is a few buckets); otherwise `at`. */
  startUpTo(at: number, within: number): number {
    return this.to > this.from && this.from <= at && this.to >= at - within ? this.from : at;
  }

  knows(from: number, to: number): boolean {
    return this.to > this.from && from >= this.from && to <= this.to;
  }

  /** The known counts of [from, to) in buckets of `size`, a multiple of this one's. */
  folded(from: number, to: number, size: number): Array<{ bucket: number; type: string; n: number }> {
    const out: Array<{ bucket: number; type: string; n: number }> = [];
    for (const [bucket, types] of this.counts) {
      const at = bucket * this.size;
      if (at < from || at >= to) continue;
      for (const [type, n] of types) out.push({ bucket: Math.floor(at / size), type, n });
    }
    return out;
  }

  /** The events of `type` (any type: undefined) in [from, to), all known. */
  sum(type: string | undefined, from: number, to: number): number {
    let total = 0;
    for (const [bucket, types] of this.counts) {
      if (bucket * this.size < from || bucket * this.size >= to) continue;
      if (type !== undefined) total += types.get(type) ?? 0;
      else for (const n of types.values()) total += n;
    }
    return total;
  }
}

/** One scope's counts: whole hours, then whole minutes, all settled. */
interface Tally {
  hours: Buckets;
  minutes: Buckets;
  /** this scope's counting, one at a time (two would ask for the same span twice) */
  turn: Promise<unknown>;
}

/** How many rows a log shows (a customer's events, an endpoint's attempts), for a list's
 * `X-Total-Count`, without counting 30 days of rows on every page: what is settled (older than
 * SETTLE_MS) is counted once per hour and per minute and kept, what is newer is counted each time
 * (a few minutes of rows). Every instance counts from the database on its own: settled buckets
 * never change, and the horizon moves the same way on each. */
export class LogCounts<S extends string | number> {
  private readonly tallies = new Map<S, Tally>();

  constructor(
    private readonly source: TallySource<S>,
    private readonly now: () => number,
    private readonly retentionDays: number,
    /** scopes whose counts are kept, the least recently asked dropped first: a busy scope's 30 days
     * are up to 720 hours of a few types each, about 250 KB; one dropped is counted again
     * from the database when next asked */
    private readonly scopes = 100,
  ) {}

  /** The oldest time the log shows now (logHorizon). */
  horizon(now = this.now()): number {
    return logHorizon(now, this.retentionDays);
  }

  /** The scope's rows of `type` (every type: undefined) that the log shows now. */
  async total(scope: S, type: string | undefined): Promise<number> {
    const now = this.now();
    const horizon = this.horizon(now);
    const settled = Math.max(horizon, now - SETTLE_MS);
    const hoursTo = Math.max(horizon, Math.floor(settled / HOUR_MS) * HOUR_MS);
    const minutesTo = Math.max(hoursTo, Math.floor(settled / MINUTE_MS) * MINUTE_MS);
    const tally = this.tallyOf(scope);
    const counted = tally.turn.then(async () => {
      // The minutes first, from where they start: an hour that settled since the last count is
      // then made of its minutes, and only then are they forgotten. Asked again after hours of
      // silence, the hours missed are counted as hours, not as minutes.
      await tally.minutes.cover(this.source, scope, tally.minutes.startUpTo(hoursTo, HOUR_MS), minutesTo);
      await tally.hours.cover(this.source, scope, horizon, hoursTo, tally.minutes);
      await tally.minutes.cover(this.source, scope, hoursTo, minutesTo);
      return tally.hours.sum(type, horizon, hoursTo) + tally.minutes.sum(type, hoursTo, minutesTo);
    });
    // A failed count leaves the next caller to ask again (the spans only grow once counted).
    tally.turn = counted.catch(() => {});
    const [kept, recent] = await Promise.all([counted, this.source.countFrom(scope, type, minutesTo)]);
    return kept + recent;
  }

  private tallyOf(scope: S): Tally {
    let tally = this.tallies.get(scope);
    if (tally) this.tallies.delete(scope);
    else tally = { hours: new Buckets(HOUR_MS), minutes: new Buckets(MINUTE_MS), turn: Promise.resolve() };
    this.tallies.set(scope, tally);
    if (this.tallies.size > this.scopes) this.tallies.delete(this.tallies.keys().next().value!);
    return tally;
  }
}
