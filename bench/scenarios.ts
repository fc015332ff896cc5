/** The scenarios, by name (see bench/README.md). Each takes running servers and returns rows for
 * the table; targets are issue 12's. */
import { setMaxListeners } from 'node:events';
import { appendFileSync } from 'node:fs';
import { Pool } from 'undici';
import { call, cannon, cpuMsOf, cpuMsOfAll, median, memoryOf, paced, percentile, postgresPids, sleep, type CannonRequest, type RateResult, type Server } from './lib.js';
import type { Seeded } from './seed.js';

export interface Row {
  db: string;
  scenario: string;
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  met: 'yes' | 'NO' | '—';
}

export interface Settings {
  quick: boolean;
  seconds: number;
  warmup: number;
  rounds: number;
  connections: number;
  pickupTerminals: number;
  /** payments sent before the pickup's measured ones, at the same pace, not counted */
  warmupPayments: number;
  payments: number;
  paymentsPerSecond: number;
  fleetTerminals: number;
  fleetHoldS: number;
  /** how many pairs of fresh processes (bare, platform) the fleet scenario runs */
  fleetPairs: number;
  mixedTerminals: number;
  mixedIntervalS: number;
  mixedSeconds: number;
  mixedCreatesPerS: number;
  mixedStatusPerS: number;
  /** terminals of the create scenario's own, more than a run creates transactions: each creation a
   * plain one, none superseding a pending payment */
  createTerminals: number;
}

export type Terminal = Seeded['terminals'][number];

const ms = (v: number) => `${v.toFixed(1)} ms`;
const rate = (r: RateResult) => `${Math.round(r.rps)} req/s`;
const jsonHeaders = { 'content-type': 'application/json' };

/** A rate run with the server's CPU time per request (µs) over it, and PostgreSQL's when asked. */
type Measured = RateResult & { cpuUs: number; pgUs?: number };

function rateRow(db: string, scenario: string, metric: string, p: Measured, b: Measured, target: number): Row {
  const ratio = p.rps / b.rps;
  const bad = p.bad + b.bad;
  // The server's own CPU per request (user + system, the best round of each) moves less with the
  // machine's other tenants than the rate does.
  const pg = p.pgUs !== undefined && b.pgUs !== undefined ? `; PostgreSQL's CPU per request ${Math.round(p.pgUs)} µs vs ${Math.round(b.pgUs)} µs` : '';
  const cpu = `server CPU per request ${Math.round(p.cpuUs)} µs vs ${Math.round(b.cpuUs)} µs${pg}`;
  return {
    db,
    scenario,
    metric: `${metric} (p99 ${ms(p.p99)} vs ${ms(b.p99)}; ${cpu})${bad ? `, ${bad} non-2xx/errors` : ''}`,
    value: rate(p),
    baseline: rate(b),
    ratio: `${(ratio * 100).toFixed(0)}%`,
    target: `≥ ${target * 100}%`,
    met: ratio >= target && p.bad === 0 ? 'yes' : 'NO',
  };
}

/** Rounds of baseline then platform runs; each side keeps its best round (the least disturbed by
 * the machine's other tenants). `postgres`: PostgreSQL's CPU per request too (its processes as
 * each round starts, so the connections the warm-up opened count). */
async function compare(s: Settings, runs: Array<{ server: Server; next: () => CannonRequest }>, postgres = false): Promise<Measured[]> {
  for (const r of runs) await cannon(r.server.base, r.next, s.warmup, s.connections);
  const best: Measured[] = runs.map(() => ({ rps: 0, p50: 0, p99: 0, total: 0, bad: 0, cpuUs: 0 }));
  for (let round = 0; round < s.rounds; round++) {
    for (const [i, r] of runs.entries()) {
      const pids = postgres ? postgresPids() : [];
      const cpuBefore = cpuMsOf(r.server.pid);
      const pgBefore = cpuMsOfAll(pids);
      const res = await cannon(r.server.base, r.next, s.seconds, s.connections);
      const perRequest = (msSpent: number) => (msSpent * 1000) / Math.max(1, res.total);
      const cpuUs = perRequest(cpuMsOf(r.server.pid) - cpuBefore);
      const pgUs = postgres ? perRequest(cpuMsOfAll(pids) - pgBefore) : undefined;
      if (res.rps > best[i]!.rps) best[i] = { ...res, bad: Math.max(res.bad, best[i]!.bad), cpuUs, ...(pgUs !== undefined && { pgUs }) };
      else best[i]!.bad = Math.max(best[i]!.bad, res.bad);
    }
  }
  return best;
}

const cycle = <T>(items: T[]) => {
  let i = 0;
  return () => items[i++ % items.length]!;
};

/** 1. GET one transaction's status (and GET /stores) vs a bare Fastify JSON route. */
export async function statusRate(db: string, s: Settings, platform: Server, baseline: Server, seeded: Seeded, terminal: Terminal): Promise<Row[]> {
  const pool = new Pool(platform.base, { connections: 2 });
  const created = await call(pool, 'POST', `/terminals/${terminal.id}/transactions`, { 'api-key': seeded.apiKey }, {
    type: 'PURCHASE',
    merchant_order_reference: 'bench-status',
    amount: { value: 12.34, currency: 'EUR' },
  });
  await pool.close();
  if (created.status !== 201) throw new Error(`creating the transaction to read failed: ${created.status} ${created.text}`);
  const txPath = `/terminals/${terminal.id}/transactions/${created.json().id as string}`;
  const key = { 'api-key': seeded.apiKey };
  const [b, p, stores] = await compare(s, [
    { server: baseline, next: () => ({ method: 'GET', path: '/ping', headers: key }) },
    { server: platform, next: () => ({ method: 'GET', path: txPath, headers: key }) },
    { server: platform, next: () => ({ method: 'GET', path: '/stores', headers: key }) },
  ]);
  return [
    rateRow(db, 'status: GET transaction', 'GET /terminals/{id}/transactions/{txid} vs bare GET', p!, b!, db === 'sqlite' ? 0.5 : 0.4),
    rateRow(db, 'status: GET /stores', 'GET /stores (issue 2) vs bare GET', stores!, b!, 0.6),
  ];
}

/** 2. A terminal's poll with nothing pending, spread over `terminals` (each device token its own). */
export async function idlePollRate(db: string, s: Settings, platform: Server, baseline: Server, terminals: Terminal[]): Promise<Row[]> {
  const headers = terminals.map((t) => ({ authorization: `Bearer ${t.token}` }));
  const nextB = cycle(headers);
  const nextP = cycle(headers);
  const [b, p] = await compare(s, [
    { server: baseline, next: () => ({ method: 'GET', path: '/ping', headers: nextB() }) },
    { server: platform, next: () => ({ method: 'GET', path: '/device/v1/transactions/next', headers: nextP() }) },
  ]);
  return [rateRow(db, 'idle-poll', `GET /device/v1/transactions/next, nothing pending, ${terminals.length} terminals round robin, vs bare GET`, p!, b!, 0.7)];
}

/** 3. Creating transactions, round robin over `terminals`, vs one durable INSERT per request. */
export async function createRate(db: string, s: Settings, platform: Server, baseline: Server, seeded: Seeded, terminals: Terminal[]): Promise<Row[]> {
  let n = 0;
  const body = (i: number) => JSON.stringify({ type: 'PURCHASE', merchant_order_reference: `bench-${i}`, amount: { value: 12.34, currency: 'EUR' } });
  const headers = { ...jsonHeaders, 'api-key': seeded.apiKey };
  let m = 0;
  const [b, p] = await compare(s, [
    { server: baseline, next: () => ({ method: 'POST', path: '/insert', headers, body: body(m++) }) },
    { server: platform, next: () => ({ method: 'POST', path: `/terminals/${terminals[n % terminals.length]!.id}/transactions`, headers, body: body(n++) }) },
  ], db === 'postgres');
  const superseding = Math.max(0, n - terminals.length);
  const row = rateRow(db, 'create', `POST /terminals/{id}/transactions over ${terminals.length} terminals (${n} created, ${superseding} superseded a pending one) vs bare durable INSERT`, p!, b!, db === 'sqlite' ? 0.6 : 0.4);
  return [row];
}

/** A terminal that long-polls until stopped, and hands each transaction it receives to `onTransaction`. */
export function longPoller(pool: Pool, t: Terminal, wait: number, signal: AbortSignal, counts: { polls: number; errors: number; unexpected: string[] }, onTransaction?: (tx: { id: string }, at: number) => Promise<void>, beforePoll?: () => void) {
  const headers = { authorization: `Bearer ${t.token}` };
  return (async () => {
    while (!signal.aborted) {
      try {
        beforePoll?.();
        const res = await call(pool, 'GET', `/device/v1/transactions/next?wait=${wait}`, headers, undefined, signal);
        const at = performance.now();
        counts.polls++;
        if (res.status === 200 && onTransaction) await onTransaction(res.json() as { id: string }, at);
        else if (res.status !== 204) {
          counts.errors++;
          if (counts.unexpected.length < 5) counts.unexpected.push(`${res.status} ${res.text.slice(0, 200)}`);
        }
      } catch (e) {
        if (signal.aborted) return;
        counts.errors++;
        if (counts.unexpected.length < 5) counts.unexpected.push(String(e));
        await sleep(100);
      }
    }
  })();
}

export async function ramp(n: number, start: (i: number) => void) {
  for (let i = 0; i < n; i++) {
    start(i);
    if (i % 250 === 249) await sleep(25);
  }
}

/** The round trip of a bare Fastify GET at the same pace: the floor for latency figures. */
async function baselineLatency(baseline: Server, count: number, perSecond: number) {
  const pool = new Pool(baseline.base, { connections: 64 });
  const r = await paced(count, perSecond, async () => {
    const res = await call(pool, 'GET', '/ping', {});
    if (res.status !== 200) throw new Error(String(res.status));
  });
  await pool.close();
  return r.latencies;
}

/** 4. Pickup latency: terminals long-poll, payments go to random idle terminals at a steady pace;
 * from sending the POST to the terminal holding the transaction. The terminal then cancels it on
 * its side and polls again. */
export async function pickupLatency(db: string, s: Settings, platform: Server, baseline: Server, seeded: Seeded, terminals: Terminal[], name = 'pickup', targets: { p50?: number; p99: number } = { p50: 3, p99: 20 }): Promise<Row[]> {
  const polls = new Pool(platform.base, { connections: terminals.length + 16 });
  const customer = new Pool(platform.base, { connections: 32 });
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every terminal's request listens to it
  const counts = { polls: 0, errors: 0, unexpected: [] as string[] };
  const sentAt = new Map<number, number>();
  const eligibleAt = new Float64Array(terminals.length);
  const pickups: number[] = [];
  // The first payments of a fresh process run cold (its pool's connections opened, each statement
  // prepared on each, the code paths compiled): a warm-up, like the rate scenarios', not counted.
  let recording = false;
  const loops: Promise<void>[] = [];
  await ramp(terminals.length, (i) => {
    const t = terminals[i]!;
    loops.push(
      longPoller(
        polls,
        t,
        30,
        stop.signal,
        counts,
        async (tx, at) => {
          const sent = sentAt.get(i);
          if (sent !== undefined && recording) {
            pickups.push(at - sent);
            if (process.env.BENCH_TRACE) appendFileSync(process.env.BENCH_TRACE, `${Date.now() - (at - sent)}\t${(at - sent).toFixed(1)}\n`);
          }
          const c = await call(polls, 'POST', `/device/v1/transactions/${tx.id}/cancel`, { authorization: `Bearer ${t.token}` }, undefined, stop.signal);
          if (c.status !== 200) counts.errors++;
          sentAt.delete(i);
        },
        // A terminal is chosen again only once its next poll has surely reached the server.
        () => (eligibleAt[i] = performance.now() + 250),
      ),
    );
  });
  await sleep(s.quick ? 500 : 1500);
  const pay = (prefix: string) => async (k: number) => {
    let i = Math.floor(Math.random() * terminals.length);
    for (let tries = 0; sentAt.has(i) || eligibleAt[i]! > performance.now(); tries++) {
      if (tries > 10 * terminals.length) throw new Error('no idle terminal');
      i = (i + 1) % terminals.length;
    }
    sentAt.set(i, performance.now());
    const res = await call(customer, 'POST', `/terminals/${terminals[i]!.id}/transactions`, { 'api-key': seeded.apiKey }, {
      type: 'PURCHASE',
      merchant_order_reference: `${prefix}-${k}`,
      amount: { value: 1, currency: 'EUR' },
    });
    if (res.status !== 201) {
      sentAt.delete(i);
      throw new Error(`${res.status} ${res.text}`);
    }
  };
  await paced(s.warmupPayments, s.paymentsPerSecond, pay('pickup-warm-up'));
  for (const until = performance.now() + 5000; sentAt.size > 0 && performance.now() < until; ) await sleep(20);
  recording = true;
  const creates = await paced(s.payments, s.paymentsPerSecond, pay('pickup'));
  const deadline = performance.now() + 5000;
  while (sentAt.size > 0 && performance.now() < deadline) await sleep(20);
  const missed = sentAt.size;
  stop.abort();
  await Promise.allSettled(loops);
  await polls.destroy();
  await customer.destroy();
  const base = await baselineLatency(baseline, s.payments, s.paymentsPerSecond);
  const errors = counts.errors + creates.errors + missed;
  const p50 = percentile(pickups, 50);
  const p99 = percentile(pickups, 99);
  const bp50 = percentile(base, 50);
  const bp99 = percentile(base, 99);
  const detail = `${pickups.length} payments at ${s.paymentsPerSecond}/s to ${terminals.length} long-polling terminals; POST answered p50 ${ms(percentile(creates.latencies, 50))} p99 ${ms(percentile(creates.latencies, 99))}${errors ? `; ${errors} errors/missed ${counts.unexpected.join(' | ')}` : ''}`;
  return [
    {
      db,
      scenario: `${name} p50`,
      metric: `POST → terminal holds it; ${detail}`,
      value: ms(p50),
      baseline: `${ms(bp50)} (bare GET round trip)`,
      ratio: `${(p50 / bp50).toFixed(1)}×`,
      ...(targets.p50 === undefined ? { target: 'report', met: errors === 0 ? '—' : 'NO' } : { target: `≤ ${targets.p50} ms`, met: p50 <= targets.p50 && errors === 0 ? 'yes' : 'NO' }),
    },
    { db, scenario: `${name} p99`, metric: 'same run', value: ms(p99), baseline: `${ms(bp99)} (bare GET round trip)`, ratio: `${(p99 / bp99).toFixed(1)}×`, target: `≤ ${targets.p99} ms`, met: p99 <= targets.p99 && errors === 0 ? 'yes' : 'NO' },
  ];
}

/** 5. Fleet scale: every terminal holds a long poll (wait=30) for `fleetHoldS` seconds. */
/** Holds one long poll per terminal on `server` for `holdS` seconds; answers its peak resident memory. */
async function holdFleet(server: Server, s: Settings, terminals: Terminal[], counts: { polls: number; errors: number; unexpected: string[] }) {
  const pids = server.memoryPids ?? [server.pid];
  const rssOf = () => pids.reduce((sum, pid) => sum + memoryOf(pid).rss, 0);
  const idle = { rss: rssOf() };
  const pool = new Pool(server.base, { connections: terminals.length + 16 });
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every terminal's request listens to it
  let peak = idle.rss;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf());
    } catch {}
  }, 200);
  const loops: Promise<void>[] = [];
  const started = performance.now();
  await ramp(terminals.length, (i) => loops.push(longPoller(pool, terminals[i]!, 30, stop.signal, counts)));
  const rampS = (performance.now() - started) / 1000;
  await sleep(s.fleetHoldS * 1000);
  // One process: its own peak (VmHWM); several: the peak of their sampled sum.
  const hwm = pids.length === 1 ? memoryOf(pids[0]!).hwm : 0;
  clearInterval(sampler);
  stop.abort();
  await Promise.allSettled(loops);
  await pool.destroy();
  return { idle: idle.rss, peak: Math.max(peak, hwm), rampS };
}

/** The bare server's figures (the median of the fleet scenario's pairs), per database and fleet size. */
const bareFleet = new Map<string, { idle: number; peak: number }>();

/** A fleet holding polls, first on a fresh bare server, then on a fresh platform, `pairs` times (the
 * order swapped from one pair to the next). A process's peak depends on when V8 happens to start
 * marking: runs of the same code on one machine came out 10% apart and more, on both sides, so
 * the ratio is the median of the pairs', each pair reported. */
export async function fleetPairs(db: string, s: Settings, spawnPlatform: () => Promise<Server>, spawnBaseline: () => Promise<Server>, terminals: Terminal[], pairs: number): Promise<Row[]> {
  const counts = { polls: 0, errors: 0, unexpected: [] as string[] };
  // The bare route only waits: its answers are not counted.
  const bareCounts = { polls: 0, errors: 0, unexpected: [] as string[] };
  const held = async (spawn: () => Promise<Server>, countsOf: typeof counts) => {
    const server = await spawn();
    try {
      return await holdFleet(server, s, terminals, countsOf);
    } finally {
      await server.stop();
    }
  };
  const results: Array<{ bare: Awaited<ReturnType<typeof holdFleet>>; mine: Awaited<ReturnType<typeof holdFleet>> }> = [];
  for (let pair = 0; pair < pairs; pair++) {
    if (pair % 2 === 0) {
      const bare = await held(spawnBaseline, bareCounts);
      results.push({ bare, mine: await held(spawnPlatform, counts) });
    } else {
      const mine = await held(spawnPlatform, counts);
      results.push({ bare: await held(spawnBaseline, bareCounts), mine });
    }
  }
  const ratios = results.map((r) => r.mine.peak / r.bare.peak);
  const ratio = median(ratios);
  const bare = { idle: median(results.map((r) => r.bare.idle)), peak: median(results.map((r) => r.bare.peak)) };
  bareFleet.set(`${db}:${terminals.length}`, bare);
  const peak = median(results.map((r) => r.mine.peak));
  const each = results.map((r) => `${r.mine.peak.toFixed(0)}/${r.bare.peak.toFixed(0)}`).join(', ');
  return [
    {
      db,
      scenario: 'fleet memory',
      metric: `${terminals.length} terminals long-polling (wait=30) for ${s.fleetHoldS} s after a ${median(results.map((r) => r.mine.rampS)).toFixed(1)} s ramp; peak VmRSS (VmHWM) of a fresh process; ${pairs > 1 ? `median of ${pairs} pairs (platform/bare MB: ${each}; ratios ${ratios.map((r) => `${r.toFixed(2)}×`).join(' ')})` : 'one pair'}, idle ${median(results.map((r) => r.mine.idle)).toFixed(0)} MB`,
      value: `${peak.toFixed(0)} MB`,
      baseline: `${bare.peak.toFixed(0)} MB (bare Fastify holding the same ${terminals.length} polls; idle ${bare.idle.toFixed(0)} MB)`,
      ratio: `${ratio.toFixed(2)}×`,
      target: '≤ 1.2×',
      met: ratio <= 1.2 ? 'yes' : 'NO',
    },
    fleetErrors(db, 'fleet', counts),
  ];
}

const fleetErrors = (db: string, name: string, counts: { polls: number; errors: number; unexpected: string[] }): Row => ({
  db,
  scenario: `${name} errors`,
  metric: `${counts.polls} polls answered (204 at wait's end) ${counts.unexpected.join(' | ')}`,
  value: String(counts.errors),
  baseline: '—',
  ratio: '—',
  target: '0',
  met: counts.errors === 0 ? 'yes' : 'NO',
});

/** `fleetPairs` through several instances: their summed memory against the bare server's median
 * from `fleetPairs` (one bare process for all: for the record, no target). */
export async function fleetScale(db: string, s: Settings, platform: Server, terminals: Terminal[], name: string): Promise<Row[]> {
  const bare = bareFleet.get(`${db}:${terminals.length}`);
  const instances = platform.memoryPids?.length ?? 1;
  const counts = { polls: 0, errors: 0, unexpected: [] as string[] };
  const { idle, peak, rampS } = await holdFleet(platform, s, terminals, counts);
  return [
    {
      db,
      scenario: `${name} memory`,
      metric: `${terminals.length} terminals long-polling (wait=30) for ${s.fleetHoldS} s after a ${rampS.toFixed(1)} s ramp; peak VmRSS (VmHWM) summed over ${instances} instances behind nginx, idle ${idle.toFixed(0)} MB`,
      value: `${peak.toFixed(0)} MB`,
      baseline: bare ? `${bare.peak.toFixed(0)} MB (bare Fastify holding the same ${terminals.length} polls; idle ${bare.idle.toFixed(0)} MB)` : '— (run with the fleet scenario)',
      ratio: bare ? `${(peak / bare.peak).toFixed(2)}×` : '—',
      target: 'report',
      met: '—',
    },
    fleetErrors(db, name, counts),
  ];
}

/** 6. Mixed: terminals short-poll every `mixedIntervalS`; customer systems create payments for idle
 * terminals and read the status of recent ones; a terminal presents an approving card to each
 * payment it gets. p99 latency per kind of request, once every terminal has polled; the first
 * interval (a fresh process meets the fleet: every terminal connects, and its first poll checks
 * its token and its pending payments in the store) is reported in a row of its own. */
export async function mixed(db: string, s: Settings, platform: Server, baseline: Server, seeded: Seeded, terminals: Terminal[], name = 'mixed'): Promise<Row[]> {
  const term = new Pool(platform.base, { connections: Math.min(terminals.length, 1000) });
  const customer = new Pool(platform.base, { connections: 32 });
  const lat: Record<'poll (nothing)' | 'poll (delivers)' | 'card' | 'create' | 'status', number[]> = {
    'poll (nothing)': [],
    'poll (delivers)': [],
    card: [],
    create: [],
    status: [],
  };
  let errors = 0;
  const unexpected: string[] = [];
  const fail = (what: string) => {
    errors++;
    if (unexpected.length < 5) unexpected.push(what);
  };
  const busy = new Set<number>();
  const recent: string[] = [];
  const end = performance.now() + s.mixedSeconds * 1000;
  const settled = performance.now() + s.mixedIntervalS * 1000;
  const first: number[] = [];
  /** The latency of a request sent at `t0`, of its kind once the fleet has polled, else of the start. */
  const record = (kind: keyof typeof lat, t0: number) => (t0 < settled ? first : lat[kind]).push(performance.now() - t0);
  const key = { 'api-key': seeded.apiKey };

  const terminalLoop = async (i: number) => {
    const t = terminals[i]!;
    const auth = { authorization: `Bearer ${t.token}` };
    await sleep(Math.random() * s.mixedIntervalS * 1000);
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await call(term, 'GET', '/device/v1/transactions/next', auth);
        if (res.status === 200) {
          record('poll (delivers)', t0);
          const tx = res.json() as { id: string };
          const c0 = performance.now();
          const card = await call(term, 'POST', `/device/v1/transactions/${tx.id}/card`, auth, { entry_mode: 'CONTACTLESS', card: { number: '4111111111111111', expiry: '12/30' } });
          record('card', c0);
          if (card.status !== 200) fail(`card ${card.status} ${card.text.slice(0, 120)}`);
          busy.delete(i);
        } else if (res.status === 204) record('poll (nothing)', t0);
        else fail(`poll ${res.status}`);
      } catch (e) {
        fail(String(e));
      }
      await sleep(Math.max(0, s.mixedIntervalS * 1000 - (performance.now() - t0)));
    }
  };

  const loops = terminals.map((_, i) => terminalLoop(i));
  const creates = paced(Math.floor(s.mixedSeconds * s.mixedCreatesPerS), s.mixedCreatesPerS, async (k) => {
    let i = Math.floor(Math.random() * terminals.length);
    while (busy.has(i)) i = (i + 1) % terminals.length;
    busy.add(i);
    const t0 = performance.now();
    const res = await call(customer, 'POST', `/terminals/${terminals[i]!.id}/transactions`, key, { type: 'PURCHASE', merchant_order_reference: `mixed-${k}`, amount: { value: 7.5, currency: 'EUR' } });
    record('create', t0);
    if (res.status !== 201) {
      busy.delete(i);
      fail(`create ${res.status} ${res.text.slice(0, 120)}`);
      return;
    }
    recent.push(`/terminals/${terminals[i]!.id}/transactions/${res.json().id as string}`);
    if (recent.length > 500) recent.shift();
  });
  const reads = (async () => {
    while (recent.length === 0 && performance.now() < end) await sleep(10);
    await paced(Math.floor(((end - performance.now()) / 1000) * s.mixedStatusPerS), s.mixedStatusPerS, async () => {
      const t0 = performance.now();
      const res = await call(customer, 'GET', recent[Math.floor(Math.random() * recent.length)]!, key);
      record('status', t0);
      if (res.status !== 200) fail(`status ${res.status}`);
    });
  })();
  await Promise.all([...loops, creates, reads]);
  await term.close();
  await customer.close();
  const totalPerS = terminals.length / s.mixedIntervalS + s.mixedCreatesPerS + s.mixedStatusPerS;
  const base = await baselineLatency(baseline, Math.floor(totalPerS * Math.min(s.mixedSeconds, s.quick ? 1 : 10)), totalPerS);
  const bp99 = percentile(base, 99);
  const rows: Row[] = [];
  for (const [kind, values] of Object.entries(lat)) {
    const p99 = percentile(values, 99);
    rows.push({
      db,
      scenario: `${name}: ${kind}`,
      metric: `${values.length} requests after the first ${s.mixedIntervalS} s, p50 ${ms(percentile(values, 50))}, p99`,
      value: ms(p99),
      baseline: `${ms(bp99)} (bare GET p99 at ${Math.round(totalPerS)}/s)`,
      ratio: `${(p99 / bp99).toFixed(1)}×`,
      target: 'report',
      met: '—',
    });
  }
  rows.push({
    db,
    scenario: `${name}: the first ${s.mixedIntervalS} s`,
    metric: `${first.length} requests of every kind sent while the fleet made its first polls on a fresh process, p50 ${ms(percentile(first, 50))}, max ${ms(Math.max(0, ...first))}, p99`,
    value: ms(percentile(first, 99)),
    baseline: `${ms(bp99)} (bare GET p99 at ${Math.round(totalPerS)}/s)`,
    ratio: `${(percentile(first, 99) / bp99).toFixed(1)}×`,
    target: 'report',
    met: '—',
  });
  rows.push({
    db,
    scenario: `${name}: errors`,
    metric: `${terminals.length} terminals polling every ${s.mixedIntervalS} s, ${s.mixedCreatesPerS} payments/s, ${s.mixedStatusPerS} status reads/s for ${s.mixedSeconds} s ${unexpected.join(' | ')}`,
    value: String(errors),
    baseline: '—',
    ratio: '—',
    target: '0',
    met: errors === 0 ? 'yes' : 'NO',
  });
  return rows;
}
