import { DELIVERY_TIMEOUT_MS } from './send-orders.js';

/** An attempt in flight to an endpoint: when it began (the platform's clock), and whether it has ended. */
export interface AttemptInFlight {
  delivery: { endpoint_id: string };
  at: number;
  ended?: boolean;
}

/** How an attempt to an endpoint ended, for its health: with an HTTP answer (any status), without
 * one within the time limit, or failing otherwise (refused, reset: fast, holding no slot for long). */
export type Ending = 'answered' | 'timed-out' | 'failed';

/** What becomes of a delivery claimed for an endpoint. */
export type Admission = 'send' | 'not-sent' | 'hand-back';

/** Why a claimed delivery was not sent: recorded as its attempt's error. */
export const NOT_SENT = `not sent: the endpoint did not answer its last attempt within ${DELIVERY_TIMEOUT_MS / 1000} s`;

/** An attempt in flight this long makes its endpoint slow. */
const SLOW_MS = 250;

/** Keeps one customer's slow or dead receiver from taking the delivery slots every other endpoint
 * shares (a slot is held until the answer, up to 10 s):
 * - an endpoint with an attempt in flight for SLOW_MS or more is slow, and holds at most `cap`
 *   slots; claims leave its deliveries alone while it does, and what one claim brings beyond that
 *   is handed back. An endpoint that answers fast is never held back, however many it takes.
 * - an endpoint whose last attempt got no answer within the time limit is down: one attempt to it
 *   at a time finds out whether it is back, and every other delivery claimed for it meanwhile is
 *   recorded as a failed attempt at once, without a request (NOT_SENT), and follows the retry
 *   schedule like an attempt answered 503. Its first answer, whatever the status, ends that.
 * What one instance learns of an endpoint stays with it; each instance learns on its own. */
export class ReceiverHealth {
  private readonly down = new Set<string>();

  constructor(private readonly cap: number) {}

  ended(endpointId: string, how: Ending) {
    if (how === 'answered') this.down.delete(endpointId);
    else if (how === 'timed-out') {
      if (this.down.size >= 10_000) this.down.clear();
      this.down.add(endpointId);
    }
  }

  /** Before a claim: the endpoints it should leave alone now, and how to admit what it brings. */
  look(inFlight: Iterable<AttemptInFlight>, now: number): Look {
    const held = new Map<string, { n: number; slow: boolean }>();
    for (const a of inFlight) {
      if (a.ended) continue;
      const id = a.delivery.endpoint_id;
      const h = held.get(id) ?? { n: 0, slow: false };
      h.n++;
      h.slow ||= now - a.at >= SLOW_MS;
      held.set(id, h);
    }
    return new Look(held, this.down, this.cap);
  }
}

/** One claim's admissions, counted as they are made. */
export class Look {
  /** Endpoints the claim leaves alone: slow ones with every slot they may hold taken. Down ones are
   * claimed, so that their deliveries move on through the schedule instead of waiting here. */
  readonly skip: string[] = [];

  constructor(
    private readonly held: Map<string, { n: number; slow: boolean }>,
    private readonly down: ReadonlySet<string>,
    private readonly cap: number,
  ) {
    for (const [id, h] of held) if (h.slow && h.n >= cap && !down.has(id)) this.skip.push(id);
  }

  admit(endpointId: string): Admission {
    const h = this.held.get(endpointId) ?? { n: 0, slow: false };
    if (this.down.has(endpointId)) {
      if (h.n >= 1) return 'not-sent';
    } else if (h.slow && h.n >= this.cap) return 'hand-back';
    h.n++;
    this.held.set(endpointId, h);
    return 'send';
  }
}
