/** The webhooks scenario's receiver, run in a thread of its own (bench/webhooks.ts): a merchant's
 * backend is a system apart, and on the load's event loop its requests delayed the load's own.
 * Answers every POST 204 once its body is in, counts webhook-ids seen twice, and, while tracking,
 * the delay from each latency payment's event (created_at) to its arrival.
 * Messages in: 'track' | 'report' | 'close'. Messages out: a Start first, then a Report for each
 * 'report'. */
import { readlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

export interface Start {
  url: string;
  /** Whether the thread runs at nice 19 (lowestPriority). */
  lowest: boolean;
}

export interface Report {
  received: number;
  duplicates: number;
  latencies: number[];
}

/** A merchant's backend runs on machines of its own; here it shares the two cores the platform and
 * the load use, and at the normal priority its wake-ups (one per request) took a core from the
 * platform's event loop: the API's rate fell by what the receiver costs, not what sending costs
 * the platform. At nice 19 it takes the time the others leave (with 400 events/s it still answers
 * every one within its round). Linux keeps a nice value per thread: this thread alone is lowered.
 * False where the thread's own id cannot be read (not Linux). */
function lowestPriority(): boolean {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19);
    return true;
  } catch {
    return false;
  }
}

const lowest = lowestPriority();
const port = parentPort!;
const latencies: number[] = [];
const ids = new Set<string>();
let duplicates = 0;
let track = false;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    res.writeHead(204).end();
    const id = String(req.headers['webhook-id']);
    if (ids.has(id)) duplicates++;
    ids.add(id);
    // Only the latency rounds read the body: elsewhere its parsing would be the bench's own CPU,
    // taken from the two cores the platform shares with the load.
    if (!track) return;
    const event = JSON.parse(Buffer.concat(chunks).toString()) as { created_at: string; data: { merchant_order_reference?: string } };
    if (event.data.merchant_order_reference?.startsWith('wh-latency-')) latencies.push(at - Date.parse(event.created_at));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => port.postMessage({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, lowest } satisfies Start));
port.on('message', (m: 'track' | 'report' | 'close') => {
  if (m === 'track') track = true;
  else if (m === 'report') port.postMessage({ received: ids.size, duplicates, latencies } satisfies Report);
  else {
    server.closeAllConnections();
    server.close(() => port.close());
  }
});
