/** What @fastify/rate-limit asks of a store: count a request of `key`, answer the count in its
 * window and the milliseconds left of that window. */
interface Counted {
  current: number;
  ttl: number;
}

/** The plugin's options as it hands them to a store: its global ones, merged with a route's. */
interface Limits {
  timeWindow?: unknown;
  max?: unknown;
}

/**
 * Requests per credential for @fastify/rate-limit, in fixed windows that every credential shares
 * (`timeWindow` long, the first from the first request counted, each next one from the first
 * request after the last ended): one number per credential seen in the current window, dropped
 * together when it ends.
 *
 * The plugin's own store keeps each credential in a least-recently-used list: a list node, a
 * record and two boxed times, about 130 bytes beside the map's entry, which a fleet of 10,000
 * terminals keeps for all of them; and it moves the node on every request. Both kinds are fixed
 * windows: a credential gets `max` requests in each. Past `remembered` credentials in one window
 * the one first counted is dropped (it starts again from zero), so tokens made up by the thousand
 * cannot grow the map without bound. The plugin's `continueExceeding` and `exponentialBackoff`
 * are not offered, nor a `max` or `timeWindow` computed per request.
 */
export function windowedCounts(remembered: number) {
  return class WindowedCounts {
    private readonly counts = new Map<string, number>();
    private windowEnd = 0;
    private readonly timeWindow: number;
    private readonly max: number;

    constructor(private readonly options: Limits) {
      if (typeof options.timeWindow !== 'number' || typeof options.max !== 'number') throw new TypeError('windowedCounts: timeWindow and max must be numbers');
      this.timeWindow = options.timeWindow;
      this.max = options.max;
    }

    incr(key: string, done: (e: Error | null, counted: Counted) => void) {
      const { timeWindow, max } = this;
      const now = Date.now();
      if (now >= this.windowEnd) {
        this.counts.clear();
        this.windowEnd = now + timeWindow;
      }
      let current = this.counts.get(key);
      if (current === undefined) {
        if (this.counts.size >= remembered) this.counts.delete(this.counts.keys().next().value!);
        this.counts.set(key, (current = 1));
      } else if (current <= max) {
        // Counted up to one past the limit: further requests change nothing the plugin answers.
        this.counts.set(key, ++current);
      }
      done(null, { current, ttl: this.windowEnd - now });
    }

    /** A route with limits of its own counts apart (no route here has any). */
    child(routeOptions: object) {
      return new WindowedCounts({ ...this.options, ...(routeOptions as Limits) });
    }
  };
}
