/** Scenario "webhook-isolation": an endpoint's deliveries while another endpoint's receiver never
 * answers. Every endpoint shares an instance's delivery slots (WEBHOOK_MAX_IN_FLIGHT), and an
 * attempt holds its slot until the answer, up to 10 s: a receiver that holds its requests must not
 * hold up everyone else's deliveries (src/webhooks/receiver-health.ts). Payments at a steady pace,
 * first with the bench's receiver (answering at once) as the only endpoint: the baseline; then
 * with a second endpoint whose receiver never answers, long enough for its attempts to run out of
 * time. Both phases in the same run, on the same platform. */
import { createServer, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { call, paced, percentile, sleep, type Server } from './lib.js';
import type { Row, Settings, Terminal } from './scenarios.js';
import type { Seeded } from './seed.js';
import { startReceiver } from './webhook-parties.js';
import { payOnce } from './webhooks.js';

const PER_SECOND = 25;
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** A receiver that reads each request and never answers it; counts them. */
async function silentReceiver() {
  const held = new Set<ServerResponse>();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    held.add(res);
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    requests: () => requests,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function webhookIsolation(db: string, s: Settings, platform: Server, seeded: Seeded, terminals: Terminal[]): Promise<Row[]> {
  const receiver = await startReceiver();
  const silent = await silentReceiver();
  const customer = new Pool(platform.base, { connections: 16 });
  const device = new Pool(platform.base, { connections: 16 });
  const key = { 'api-key': seeded.apiKey };
  const endpoints: string[] = [];
  const register = async (url: string) => {
    const res = await call(customer, 'POST', '/webhook-endpoints', key, { url });
    if (res.status !== 201) throw new Error(`registering an endpoint: ${res.status} ${res.text}`);
    endpoints.push(res.json().id as string);
    return res.json().id as string;
  };
  let errors = 0;
  /** One phase: payments at PER_SECOND for `seconds`; the answering receiver's latencies of its events. */
  const phase = async (name: string, seconds: number) => {
    const from = (await receiver.report()).latencies.length;
    const idle = [...terminals];
    const pace = await paced(Math.round(seconds * PER_SECOND), PER_SECOND, async (k) => {
      const t = idle.shift();
      if (!t) throw new Error('no idle terminal');
      try {
        await payOnce(customer, device, seeded, t, `wh-latency-${name}-${k}`);
      } finally {
        idle.push(t);
      }
    });
    errors += pace.errors;
    const expected = from + 4 * pace.latencies.length;
    const deadline = performance.now() + 10_000;
    while ((await receiver.report()).latencies.length < expected && performance.now() < deadline) await sleep(50);
    const lat = receiver.last().latencies.slice(from);
    return { lat, missing: Math.max(0, expected - receiver.last().latencies.length), payments: pace.latencies.length };
  };
  try {
    receiver.track();
    await register(receiver.url);
    await phase('iso-warm', s.quick ? 1 : 2);
    const alone = await phase('iso-alone', s.quick ? 4 : 12);
    const silentId = await register(silent.url);
    // Longer than an attempt's 10 s: the silent receiver's first attempts run out of time in it.
    const beside = await phase('iso-beside', s.quick ? 12 : 24);
    const attempts = await call(customer, 'GET', `/webhook-endpoints/${silentId}/deliveries?size=1`, key);
    const recorded = Number(attempts.headers['x-total-count'] ?? NaN);
    const notes = `${errors ? `; ${errors} errors` : ''}${alone.missing + beside.missing ? `; ${alone.missing + beside.missing} events not delivered within 10 s of their phase` : ''}`;
    const p = (lat: number[], q: number) => percentile(lat, q);
    return [
      {
        db,
        scenario: 'webhook-isolation: p99 beside a receiver that never answers',
        metric: `commit → the bench's receiver (answering at once), ${PER_SECOND} payments/s (4 events each), ${beside.payments} payments with a second endpoint whose receiver never answers vs ${alone.payments} with the first endpoint alone; p50 ${ms(p(beside.lat, 50))} vs ${ms(p(alone.lat, 50))}, max ${ms(Math.max(...beside.lat))} vs ${ms(Math.max(...alone.lat))}; the silent receiver got ${silent.requests()} requests for ${4 * beside.payments} events (${recorded} attempts recorded by the phase's end)${notes}`,
        value: ms(p(beside.lat, 99)),
        baseline: `${ms(p(alone.lat, 99))} (alone)`,
        ratio: `${(p(beside.lat, 99) / p(alone.lat, 99)).toFixed(2)}×`,
        target: 'report',
        met: errors || alone.missing || beside.missing ? 'NO' : '—',
      },
    ];
  } finally {
    for (const id of endpoints) await call(customer, 'DELETE', `/webhook-endpoints/${id}`, key).catch(() => {});
    await customer.close();
    await device.close();
    await receiver.close();
    await silent.close();
  }
}
