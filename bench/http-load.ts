/** The webhooks scenario's control (bench/webhooks.ts): the POSTs a platform instance makes for
 * PER_SECOND events, made by a process of its own with the platform's own sender (undici's
 * dispatch, the Standard Webhooks signature, a real event's body) to the scenario's receiver, in a
 * burst every 100 ms as the delivery worker hands them out under load. The platform meanwhile
 * does no webhook work: the rounds show what the requests alone cost on the cores it shares.
 * The scenario pauses it between rounds (SIGSTOP, SIGCONT). Prints "ready" once it sends.
 * Usage: node --import tsx bench/http-load.ts URL PER_SECOND, the event's data (JSON) in
 * BENCH_EVENT_DATA. */
import { randomBytes } from 'node:crypto';
import type { SendOrder } from '../src/webhooks/send-orders.js';
import { Sender } from '../src/webhooks/sender.js';

const [url, perSecond] = process.argv.slice(2);
const data = process.env.BENCH_EVENT_DATA;
if (!url || !perSecond || !data) {
  process.stderr.write('usage: BENCH_EVENT_DATA=JSON node --import tsx bench/http-load.ts URL PER_SECOND\n');
  process.exit(2);
}
const BURST_MS = 100;
const burst = Math.max(1, Math.round((Number(perSecond) * BURST_MS) / 1000));
const key = new Uint8Array(randomBytes(32));
const sender = new Sender({ connections: 64, publicOnly: false }, () => {});
let n = 0;
setInterval(() => {
  const at = Date.now();
  for (let i = 0; i < burst; i++) {
    n++;
    const order: SendOrder = { id: n, url, timestamp: Math.floor(at / 1000), keys: [key], event: { id: `evt_control_${n}`, type: 'transaction.cleared', created_at: at, sequence: 4, data } };
    sender.send(order);
  }
}, BURST_MS);
process.stdout.write('ready\n');
