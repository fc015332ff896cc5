import { expect, it } from 'vitest';
import { EventRepository } from '../../src/db/event-repository.js';
import { HOUR_MS, LogCounts, logHorizon, SETTLE_MS } from '../../src/webhooks/log-counts.js';
import type { EventType } from '../../src/webhooks/event-types.js';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';

const DAY_MS = 86_400_000;
const TYPES: EventType[] = ['transaction.created', 'transaction.cleared', 'terminal.online'];

describeEachStore('the event log and the delivery attempts count what they show without counting 30 days of rows each time', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true });

  it('X-Total-Count is the number of events the log shows, for every type, as time passes across minutes, hours and the horizon; retention deletes what it hides', async () => {
    const { app, clock, db } = ctx();
    const kysely = db.store.db;
    const events = new EventRepository(kysely, dialect);
    clock!.ms = Date.UTC(2026, 5, 10, 12, 34, 56, 789);
    const c = await onboard(app);
    const other = await onboard(app);
    let n = 0;
    const add = async (customer_id: number, at: number) =>
      events.append(kysely, { customer_id, type: TYPES[n++ % TYPES.length]!, subject: `transaction:c${n}`, data: { n }, at });
    const shown = async (type?: EventType) => {
      let q = kysely.selectFrom('events').where('customer_id', '=', c.customerId).where('created_at', '>=', logHorizon(clock!.ms, 30));
      if (type) q = q.where('type', '=', type);
      return Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    };
    const check = async () => {
      for (const type of [undefined, ...TYPES]) {
        const res = await merchantApi(app, c.apiKey)('GET', `/events?size=100${type ? `&type=${type}` : ''}`);
        expect(res.statusCode).toBe(200);
        const total = await shown(type);
        expect(res.headers['x-total-count'], `${type ?? 'every type'} at ${new Date(clock!.ms).toISOString()}`).toBe(String(total));
        if (total <= 100) expect(res.json()).toHaveLength(total);
      }
    };

    // 32 days back to now: some before the horizon, some in settled hours and minutes, some newer.
    for (const back of [32 * DAY_MS, 30 * DAY_MS + HOUR_MS, 30 * DAY_MS - 1, 29 * DAY_MS, 3 * DAY_MS, 2 * HOUR_MS, 61 * 60_000, 59 * 60_000, 7 * 60_000, SETTLE_MS, 60_000, 1_000, 0]) {
      await add(c.customerId, clock!.ms - back);
      await add(c.customerId, clock!.ms - back);
      await add(other.customerId, clock!.ms - back);
    }
    await check();
    // Time passes by steps that cross minutes, the settling delay, hours and a day; events keep
    // coming, the newest stamped up to a minute before they commit.
    for (const step of [17_000, 45_000, 3 * 60_000, 2 * 60_000, 59 * 60_000, HOUR_MS + 1, 5 * 60_000, 25 * HOUR_MS, 31 * DAY_MS]) {
      clock!.advance(step);
      await add(c.customerId, clock!.ms - 60_000);
      await add(c.customerId, clock!.ms);
      await add(other.customerId, clock!.ms);
      await check();
    }

    // What the log hides (before its horizon) is what retention deletes; nothing it shows goes.
    const before = Number((await kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const hidden = Number((await kysely.selectFrom('events').where('created_at', '<', logHorizon(clock!.ms, 30)).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(hidden).toBeGreaterThan(0);
    await events.deleteOlderThan(logHorizon(clock!.ms, 30));
    const after = Number((await kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(after).toBe(before - hidden);
    await check();
  });

  it("an endpoint's deliveries list: X-Total-Count is its attempts from the horizon on, newest first, as time passes", async () => {
    const { app, clock, db } = ctx();
    const kysely = db.store.db;
    clock!.ms = Date.UTC(2026, 9, 3, 4, 5, 6, 7);
    const c = await onboard(app);
    const api = merchantApi(app, c.apiKey);
    const endpoints: string[] = [];
    for (const path of ['a', 'b']) endpoints.push((await api('POST', '/webhook-endpoints', { url: `http://127.0.0.1:9/${path}` })).json().id as string);
    let n = 0;
    const attempt = (endpoint_id: string, at: number) =>
      kysely
        .insertInto('webhook_attempts')
        .values({ delivery_id: ++n, endpoint_id, event_id: `evt_${n}`, event_type: 'transaction.created', attempt: 1, at, status_code: 500, error: null, duration_ms: 3, outcome: 'RETRYING' })
        .execute();
    const check = async () => {
      const horizon = logHorizon(clock!.ms, 30);
      for (const id of endpoints) {
        const rows = await kysely.selectFrom('webhook_attempts').select(['at', 'event_id']).where('endpoint_id', '=', id).where('at', '>=', horizon).orderBy('at', 'desc').orderBy('id', 'desc').execute();
        const res = await api('GET', `/webhook-endpoints/${id}/deliveries?size=100`);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-total-count'], `${id} at ${new Date(clock!.ms).toISOString()}`).toBe(String(rows.length));
        expect((res.json() as Array<{ event_id: string }>).map((a) => a.event_id)).toEqual(rows.slice(0, 100).map((r) => r.event_id));
      }
    };
    for (const back of [31 * DAY_MS, 30 * DAY_MS - 1, 2 * DAY_MS, 90 * 60_000, 10 * 60_000, SETTLE_MS, 30_000, 0]) {
      await attempt(endpoints[0]!, clock!.ms - back);
      await attempt(endpoints[1]!, clock!.ms - back - 1);
      await attempt(endpoints[0]!, clock!.ms - back + 1);
    }
    await check();
    for (const step of [40_000, 4 * 60_000, 61 * 60_000, 3 * HOUR_MS, 30 * DAY_MS]) {
      clock!.advance(step);
      // Recorded a few seconds after they started, the newest out of order.
      await attempt(endpoints[0]!, clock!.ms - 5_000);
      await attempt(endpoints[0]!, clock!.ms - 9_000);
      await attempt(endpoints[1]!, clock!.ms);
      await check();
    }
  });

  it('asks the database for a settled span once; an hour that settles is made of its minutes; callers at once share one count', async () => {
    const { app, clock, db } = ctx();
    const kysely = db.store.db;
    const repo = new EventRepository(kysely, dialect);
    clock!.ms = Date.UTC(2026, 7, 1, 8, 0, 30);
    const c = await onboard(app);
    for (let i = 0; i < 40; i++) {
      await repo.append(kysely, { customer_id: c.customerId, type: 'transaction.created', subject: `transaction:s${i}`, data: {}, at: clock!.ms - i * 7 * 60_000 });
    }
    const asked: Array<{ from: number; to: number; bucketMs: number }> = [];
    const source = {
      countsByBucket: (customerId: number, from: number, to: number, bucketMs: number) => {
        asked.push({ from, to, bucketMs });
        return repo.countsByBucket(customerId, from, to, bucketMs);
      },
      countFrom: (customerId: number, type: EventType | undefined, from: number) => repo.countFrom(customerId, type, from),
    };
    const counts = new LogCounts<number>(source, clock!.now, 30);

    // Five callers at once, on nothing counted yet: the same total, the spans asked once.
    const totals = await Promise.all([1, 2, 3, 4, 5].map(() => counts.total(c.customerId, undefined)));
    expect(new Set(totals)).toEqual(new Set([40]));
    expect(asked.map((a) => [a.bucketMs, a.from])).toEqual([
      [60_000, Date.UTC(2026, 7, 1, 7)],
      [HOUR_MS, logHorizon(clock!.ms, 30)],
    ]);

    // Within the same minute, nothing settled is asked again.
    asked.length = 0;
    clock!.advance(20_000);
    expect(await counts.total(c.customerId, 'transaction.created')).toBe(40);
    expect(asked).toEqual([]);

    // Minute by minute through the next hour: each minute asked alone, and the hour that settles is
    // summed from them rather than counted again.
    for (let m = 0; m < 70; m++) {
      clock!.advance(60_000);
      await repo.append(kysely, { customer_id: c.customerId, type: 'transaction.created', subject: `transaction:m${m}`, data: {}, at: clock!.ms });
      expect(await counts.total(c.customerId, undefined)).toBe(41 + m);
    }
    expect(asked.filter((a) => a.bucketMs === HOUR_MS)).toEqual([]);
    expect(Math.max(...asked.map((a) => a.to - a.from))).toBe(60_000);

    // Asked again after five silent hours: the hours missed are counted as hours, not minute by minute.
    asked.length = 0;
    clock!.advance(5 * HOUR_MS);
    expect(await counts.total(c.customerId, undefined)).toBe(110);
    expect(asked.filter((a) => a.bucketMs === 60_000).every((a) => a.to - a.from <= HOUR_MS)).toBe(true);
    expect(asked.some((a) => a.bucketMs === HOUR_MS)).toBe(true);
  });
});
