import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** answers per bucket (not cumulative): index i for `bounds[i]`, above the last in none */
  buckets: Float64Array;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/** Every answer counted and timed by method, route pattern and status: a counter and a histogram in
 * Prometheus's text, kept as plain numbers per series and handed to the registry only when it is
 * scraped. prom-client's own series build and hash their labels on every call, a labelled child's
 * too: about 1 µs per answer for the two, which every request, a terminal's idle poll among them,
 * paid for a scrape every few seconds. */
export class AnswerMetrics {
  /** The series by route pattern, then method, then status: found without building a key. */
  private readonly routes = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    registry: Registry,
    private readonly bounds: readonly number[],
    names: { count: string; countHelp: string; time: string; timeHelp: string },
  ) {
    registry.registerMetric(this.metric(names.count, names.countHelp, 'counter', (s, out) => out.push({ labels: s.labels, value: s.count })));
    registry.registerMetric(
      this.metric(names.time, names.timeHelp, 'histogram', (s, out) => {
        let below = 0;
        for (let i = 0; i < this.bounds.length; i++) {
          below += s.buckets[i]!;
          out.push({ labels: { le: this.bounds[i]!, ...s.labels }, value: below, metricName: `${names.time}_bucket` });
        }
        out.push(
          { labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${names.time}_bucket` },
          { labels: s.labels, value: s.sum, metricName: `${names.time}_sum` },
          { labels: s.labels, value: s.count, metricName: `${names.time}_count` },
        );
      }),
    );
  }

  /** What counts and times the answers of one route pattern: each answer, `seconds` after its
   * request arrived. */
  route(route: string): (method: string, status: number, seconds: number) => void {
    let byMethod = this.routes.get(route);
    if (!byMethod) this.routes.set(route, (byMethod = new Map()));
    const methods = byMethod;
    return (method, status, seconds) => {
      let byStatus = methods.get(method);
      if (!byStatus) methods.set(method, (byStatus = new Map()));
      let s = byStatus.get(status);
      if (!s) byStatus.set(status, (s = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(this.bounds.length) }));
      s.count++;
      s.sum += seconds;
      let i = 0;
      while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
      if (i < this.bounds.length) s.buckets[i] = s.buckets[i]! + 1;
    };
  }

  /** What the registry reads of a metric (its text, its JSON, a reset): prom-client's own metric
   * classes are the only ones its types name, so the object is passed as one of them. */
  private metric(name: string, help: string, type: 'counter' | 'histogram', samples: (s: Series, out: Sample[]) => void): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: async () => {
        const values: Sample[] = [];
        for (const byMethod of this.routes.values()) for (const byStatus of byMethod.values()) for (const s of byStatus.values()) samples(s, values);
        return { name, help, type, aggregator: 'sum' as const, values };
      },
      reset: () => {
        for (const byMethod of this.routes.values()) byMethod.clear();
      },
    };
    return metric as unknown as Metric;
  }
}
