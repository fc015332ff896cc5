/** Scenario "webhooks": a webhook receiver on 127.0.0.1 while payments run. Delivery latency from
 * the commit (the event's created_at) to the receiver, at a steady pace of payments; and the API's
 * rate of whole payments (create, the terminal's fetch, the card) with an endpoint registered vs
 * none, in alternating rounds of the same run. */
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { call, paced, percentile, sleep, type Server } from './lib.js';
import type { Row, Settings, Terminal } from './scenarios.js';
import type { Seeded } from './seed.js';

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function startReceiver() {
  const latencies: number[] = [];
  const ids = new Set<string>();
  let duplicates = 0;
  let track = false;
  let tracked = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const at = Date.now();
      res.writeHead(204).end();
      const id = String(req.headers['webhook-id']);
      if (ids.has(id)) duplicates++;
      ids.add(id);
      const event = JSON.parse(body) as { created_at: string; data: { merchant_order_reference?: string } };
      if (track && event.data.merchant_order_reference?.startsWith('wh-latency-')) {
        latencies.push(at - Date.parse(event.created_at));
        tracked++;
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    latencies,
    received: () => ids.size,
    tracked: () => tracked,
    duplicates: () => duplicates,
    track: (on: boolean) => (track = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One whole payment on terminal `t`: created by the customer system, fetched and paid by the terminal. */
async function payOnce(customer: Pool, device: Pool, seeded: Seeded, t: Terminal, ref: string) {
  const created = await call(customer, 'POST', `/terminals/${t.id}/transactions`, { 'api-key': seeded.apiKey }, { type: 'PURCHASE', merchant_order_reference: ref, amount: { value: 4.2, currency: 'EUR' } });
  if (created.status !== 201) throw new Error(`create ${created.status} ${created.text.slice(0, 120)}`);
  const auth = { authorization: `Bearer ${t.token}` };
  const next = await call(device, 'GET', '/device/v1/transactions/next', auth);
  if (next.status !== 200) throw new Error(`next ${next.status}`);
  const card = await call(device, 'POST', `/device/v1/transactions/${created.json().id as string}/card`, auth, { entry_mode: 'CONTACTLESS', card: { number: '4111111111111111', expiry: '12/39' } });
  if (card.status !== 200) throw new Error(`card ${card.status} ${card.text.slice(0, 120)}`);
}

export async function webhookDelivery(db: string, s: Settings, platform: Server, seeded: Seeded, terminals: Terminal[]): Promise<Row[]> {
  const receiver = await startReceiver();
  const customer = new Pool(platform.base, { connections: 64 });
  const device = new Pool(platform.base, { connections: 64 });
  const key = { 'api-key': seeded.apiKey };
  let errors = 0;
  const unexpected: string[] = [];
  const fail = (e: unknown) => {
    errors++;
    if (unexpected.length < 3) unexpected.push(String(e));
  };
  let endpointId: string | undefined;
  const webhooks = async (on: boolean) => {
    if (on && !endpointId) {
      const res = await call(customer, 'POST', '/webhook-endpoints', key, { url: receiver.url });
      if (res.status !== 201) throw new Error(`registering the endpoint: ${res.status} ${res.text}`);
      endpointId = res.json().id as string;
    } else if (!on && endpointId) {
      await call(customer, 'DELETE', `/webhook-endpoints/${endpointId}`, key);
      endpointId = undefined;
    }
  };
  let serial = 0;
  // Closed loop: each of `workers` terminals pays again as soon as its payment is done.
  const rate = async (seconds: number, workers: number) => {
    const end = performance.now() + seconds * 1000;
    let payments = 0;
    await Promise.all(
      terminals.slice(0, workers).map(async (t) => {
        while (performance.now() < end) {
          try {
            await payOnce(customer, device, seeded, t, `wh-rate-${serial++}`);
            payments++;
          } catch (e) {
            fail(e);
          }
        }
      }),
    );
    return payments / seconds;
  };
  const workers = Math.min(16, terminals.length);
  try {
    // Warm-up, then alternating rounds: each side keeps its best.
    await rate(s.warmup, workers);
    const best = { off: 0, on: 0 };
    for (let round = 0; round < Math.max(2, s.rounds); round++) {
      for (const side of ['off', 'on'] as const) {
        await webhooks(side === 'on');
        best[side] = Math.max(best[side], await rate(s.seconds, workers));
      }
    }
    // Latency at a steady pace: terminals taken in turn, each one free again once its payment is done.
    // A fresh endpoint: what the rate rounds left to deliver is dropped with the old one.
    await webhooks(false);
    await webhooks(true);
    receiver.track(true);
    const idle = [...terminals];
    const pace = await paced(s.payments, s.paymentsPerSecond, async (k) => {
      const t = idle.shift();
      if (!t) throw new Error('no idle terminal');
      try {
        await payOnce(customer, device, seeded, t, `wh-latency-${k}`);
      } finally {
        idle.push(t);
      }
    });
    errors += pace.errors;
    const expected = pace.latencies.length * 4;
    const deadline = performance.now() + 10_000;
    while (receiver.tracked() < expected && performance.now() < deadline) await sleep(20);
    const missing = Math.max(0, expected - receiver.tracked());
    const lat = receiver.latencies;
    const ratio = best.on / best.off;
    const notes = `${errors ? `; ${errors} errors ${unexpected.join(' | ')}` : ''}${missing ? `; ${missing} events not delivered within 10 s` : ''}${receiver.duplicates() ? `; ${receiver.duplicates()} redelivered` : ''}`;
    return [
      {
        db,
        scenario: 'webhooks: delivery latency p50',
        metric: `commit (event created_at) → receiver on 127.0.0.1, ${lat.length} events of ${pace.latencies.length} payments at ${s.paymentsPerSecond}/s (4 events each); payment p50 ${ms(percentile(pace.latencies, 50))}${notes}`,
        value: ms(percentile(lat, 50)),
        baseline: '—',
        ratio: '—',
        target: 'report',
        met: '—',
      },
      { db, scenario: 'webhooks: delivery latency p99', metric: 'same run', value: ms(percentile(lat, 99)), baseline: '—', ratio: '—', target: 'report', met: missing || errors ? 'NO' : '—' },
      {
        db,
        scenario: 'webhooks: API rate on vs off',
        metric: `whole payments/s (create + fetch + card; 3 requests each), ${workers} terminals in a closed loop, with an endpoint receiving every event vs none; best of alternating rounds${notes}`,
        value: `${best.on.toFixed(0)} payments/s`,
        baseline: `${best.off.toFixed(0)} payments/s (webhooks off)`,
        ratio: `${(ratio * 100).toFixed(0)}%`,
        target: '≥ 90%',
        met: ratio >= 0.9 && errors === 0 && missing === 0 ? 'yes' : 'NO',
      },
    ];
  } finally {
    // The quick run shares one platform: later scenarios (create) must not deliver to a receiver that is gone.
    await webhooks(false).catch(() => {});
    await customer.close();
    await device.close();
    await receiver.close();
  }
}
