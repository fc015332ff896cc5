import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** the status it was answered with; undefined while held */
  answeredWith?: number;
  event: { id: string; type: string; created_at: string; sequence: number; data: Record<string, unknown> };
}

/** What the receiver does with a request: answer this status, or hold it unanswered ('hang'). */
export type Answer = number | 'hang';

/** A webhook receiver on 127.0.0.1: records every request, answers as `answer` says, and lets a
 * test wait until it has what it expects. */
export async function startReceiver(answer: (r: Received, n: number) => Answer = () => 200) {
  const received: Received[] = [];
  const held = new Map<ServerResponse, Received>();
  const waiters = new Set<() => void>();
  let maxHeld = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r: Received = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body,
        event: JSON.parse(body) as Received['event'],
      };
      received.push(r);
      const a = answer(r, received.length);
      if (a === 'hang') {
        held.set(res, r);
        maxHeld = Math.max(maxHeld, held.size);
        res.on('close', () => held.delete(res));
      } else {
        r.answeredWith = a;
        res.writeHead(a).end();
      }
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    held: () => held.size,
    maxHeld: () => maxHeld,
    /** Answers every request held so far with `status`. */
    answerHeld(status: number) {
      for (const [res, r] of held) {
        r.answeredWith = status;
        res.writeHead(status).end();
        held.delete(res);
      }
    },
    /** Resolves once `done(received)` holds (checked on every request). */
    until(done: (r: Received[]) => boolean): Promise<Received[]> {
      return new Promise((resolve) => {
        const check = () => {
          if (!done(received)) return;
          waiters.delete(check);
          resolve(received);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const res of held.keys()) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Checks a delivery as a receiver would, with the standardwebhooks library; throws when it does not verify. */
export function verify(secret: string, r: Received) {
  return new Webhook(secret).verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature });
}
