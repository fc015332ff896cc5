import { Agent, type Dispatcher } from 'undici';
import type { ClaimedDelivery, FinishedAttempt, WebhookRepository } from '../db/webhook-repository.js';
import { eventBody } from './event-types.js';
import { signatureHeader, signingKey, type SecretBox } from './secrets.js';
import { publicOnlyLookup, type UrlPolicy } from './url-policy.js';

/** A 2xx within this long is delivered (Standard Webhooks; DESIGN.md, "Webhooks"). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** A claim on PostgreSQL outlives the attempt it covers; an instance that dies leaves it to the others then. */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5_000;
const POLL_MS = 1_000;
/** Wake-ups that come together are handled together: a look (recording what was answered and
 * claiming what is due, one round trip on PostgreSQL, one durable commit on SQLite) starts a few
 * ms after the first wake-up, and at most one every PASS_MS however many changes commit and
 * answers arrive meanwhile: under load a look handles many deliveries at once. */
const GATHER_MS = 3;
const PASS_MS = 50;

export type AttemptOutcome = 'DELIVERED' | 'RETRYING' | 'FAILED';

export interface WorkerSettings {
  /** waits before each retry; after the last, FAILED */
  schedule: number[];
  maxInFlight: number;
  policy: UrlPolicy;
}

/** Sends the outbox's deliveries (written with their events, in the commit of the change) off the
 * request path: woken when a change commits (on any instance) and every second for retries that
 * fall due, and for events an older version left undispatched. At most `maxInFlight` requests at once; every attempt
 * is recorded with the delivery's next step, in one database transaction. */
export class WebhookWorker {
  /** Claimed by this instance until their attempt is recorded (SQLite's leases). */
  private readonly inFlight = new Map<number, Sending>();
  private finished: FinishedAttempt[] = [];
  private scheduled: NodeJS.Timeout | undefined;
  private running = false;
  /** When the last look started (performance.now()). */
  private lastLook = -Infinity;
  private again = false;
  /** Look for undispatched events on the next run (at start, then every second). */
  private sweep = true;
  /** Whether any customer has an endpoint, as the last sweep found it or this instance made one
   * since: without one, no change makes a delivery, and a wake-up needs no look. Another
   * instance's new endpoint is found by the next sweep, within a second; what it meanwhile
   * delivers is claimed by that instance (woken by every change) or by the sweep. */
  private endpoints = true;
  /** Counts deliveriesMade(): a sweep's read that overlaps one does not say "none". */
  private made = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Keep-alive connections, a pool per origin, at most `maxInFlight` to each. */
  private readonly client: Agent;
  /** Signing keys by endpoint, as decrypted from the sealed secrets they were read with (a rotation
   * seals new ones, so a changed secret is decrypted again). */
  private readonly keys = new Map<string, { sealed: string; key: Buffer; previousSealed: string | null; previousKey: Buffer | null }>();
  /** Parsed delivery URLs. */
  private readonly urls = new Map<string, URL>();

  constructor(
    private readonly repo: WebhookRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
    private readonly settings: WorkerSettings,
    private readonly observe: (outcome: AttemptOutcome) => void = () => {},
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    const guard = settings.policy.production && !settings.policy.allowPrivate;
    this.client = new Agent({
      connections: settings.maxInFlight,
      headersTimeout: DELIVERY_TIMEOUT_MS,
      bodyTimeout: DELIVERY_TIMEOUT_MS,
      connect: { timeout: DELIVERY_TIMEOUT_MS, ...(guard && { lookup: publicOnlyLookup }) },
    });
  }

  /** Deliveries being sent right now. */
  get sending() {
    return this.inFlight.size;
  }

  start() {
    this.timer = setInterval(() => {
      this.sweep = true;
      this.wake();
    }, POLL_MS);
    this.timer.unref();
    this.wake();
  }

  /** An endpoint was created or deliveries were made here (redeliver): look, and keep looking. */
  deliveriesMade() {
    this.endpoints = true;
    this.made++;
    this.wake();
  }

  /** Something may be waiting: look in a moment (once more, if a look is under way). */
  wake() {
    if (this.stopped) return;
    // Nothing can be waiting: no endpoint, nothing sent or being sent, no sweep due.
    if (!this.endpoints && !this.sweep && this.inFlight.size === 0 && this.finished.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.scheduled ??= setTimeout(() => {
      this.scheduled = undefined;
      this.running = true;
      void this.run()
        .catch((e) => this.onError(e))
        .finally(() => {
          this.running = false;
          if (this.again) this.wake();
        });
    }, Math.max(GATHER_MS, this.lastLook + PASS_MS - performance.now()));
  }

  private async run() {
    let full: boolean;
    do {
      this.again = false;
      this.lastLook = performance.now();
      const finished = this.finished;
      this.finished = [];
      const sweep = this.sweep;
      this.sweep = false;
      // What is answered leaves its slot to a new claim in the same statement.
      const free = this.stopped ? 0 : this.settings.maxInFlight - (this.inFlight.size - finished.length);
      let claimed: ClaimedDelivery[];
      try {
        if (sweep) {
          const made = this.made;
          const any = await this.repo.anyEndpoint();
          this.endpoints = any || made !== this.made;
          while ((await this.repo.dispatch(this.now())) > 0 && !this.stopped);
        }
        claimed = await this.repo.cycle(this.now(), finished, free, LEASE_MS, this.inFlight.keys());
      } catch (e) {
        // Not recorded: those deliveries stay claimed here until a later look records them.
        this.finished.push(...finished);
        this.sweep ||= sweep;
        throw e;
      }
      for (const f of finished) {
        this.observe(f.attempt.outcome);
        this.inFlight.delete(f.delivery.id);
      }
      if (this.stopped) {
        // Claimed while stopping: handed back unsent.
        await this.repo.release(claimed.map((d) => d.id));
        return;
      }
      for (const d of claimed) this.send(d);
      // More may be due at once; wake-ups meanwhile wait for the next gathered look.
      full = free > 0 && claimed.length === free;
    } while (full && !this.stopped);
  }

  /** One POST, signed with every secret the endpoint signs with now. */
  private send(d: ClaimedDelivery) {
    const at = this.now();
    const sending = new Sending(d, at, this.settled);
    this.inFlight.set(d.id, sending);
    try {
      const body = eventBody(d.event);
      const keys = this.keysOf(d);
      const secrets = [keys.key];
      if (keys.previousKey && d.previous_secret_until !== null && d.previous_secret_until > at) secrets.push(keys.previousKey);
      const timestamp = Math.floor(at / 1000);
      const url = this.urlOf(d.url);
      this.client.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: [
            'content-type', 'application/json',
            'user-agent', 'cloudpos-webhooks/1',
            'webhook-id', d.event.id,
            'webhook-timestamp', String(timestamp),
            'webhook-signature', signatureHeader(secrets, d.event.id, timestamp, body),
          ],
          body,
        },
        sending,
      );
    } catch (e) {
      // A secret that does not decrypt, a URL that does not parse: a failed attempt like any other.
      sending.onResponseError(undefined, e as Error);
    }
  }

  /** An attempt has ended (once): recorded with the delivery's next step by the next look, unless
   * it was abandoned by stop(). */
  private readonly settled = (s: Sending, result: SendResult) => {
    if (this.stopped && s.abandoned) return;
    const d = s.delivery;
    const last = d.attempts >= this.settings.schedule.length;
    const outcome: AttemptOutcome = result.ok ? 'DELIVERED' : last ? 'FAILED' : 'RETRYING';
    const next = outcome === 'RETRYING' ? s.at + this.settings.schedule[d.attempts]! : s.at;
    this.finished.push({ delivery: d, attempt: { at: s.at, status_code: result.status ?? null, error: result.error ?? null, duration_ms: result.ms, outcome, next_attempt_at: next } });
    this.wake();
  };

  /** The endpoint's signing keys, decrypted once per sealed secret. */
  private keysOf(d: ClaimedDelivery) {
    let known = this.keys.get(d.endpoint_id);
    if (!known || known.sealed !== d.secret || known.previousSealed !== d.previous_secret) {
      if (this.keys.size >= 10_000) this.keys.clear();
      known = {
        sealed: d.secret,
        key: signingKey(this.box.open(d.secret, d.endpoint_id)),
        previousSealed: d.previous_secret,
        previousKey: d.previous_secret ? signingKey(this.box.open(d.previous_secret, d.endpoint_id)) : null,
      };
      this.keys.set(d.endpoint_id, known);
    }
    return known;
  }

  private urlOf(text: string): URL {
    let url = this.urls.get(text);
    if (!url) {
      if (this.urls.size >= 10_000) this.urls.clear();
      url = new URL(text);
      this.urls.set(text, url);
    }
    return url;
  }

  /** Stops claiming, abandons what is in flight (sent again later with the same webhook-id) and
   * hands its claims back at once. */
  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.scheduled);
    // What was answered is recorded; the rest goes back.
    const finished = this.finished.splice(0);
    await this.repo.cycle(this.now(), finished, 0, LEASE_MS, []).catch(() => {});
    for (const f of finished) this.inFlight.delete(f.delivery.id);
    const abandoned = [...this.inFlight.keys()];
    for (const sending of this.inFlight.values()) sending.abandon();
    await this.repo.release(abandoned).catch(() => {});
    await this.client.destroy().catch(() => {});
  }
}

interface SendResult {
  ok: boolean;
  ms: number;
  status?: number;
  error?: string;
}

/** Only the status counts: the body is read and dropped, up to this much (past it the connection
 * is closed), so the connection can be reused. */
const BODY_LIMIT = 65_536;

const expire = (s: Sending) => s.cutShort(Object.assign(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`), { code: 'TIMEOUT' }));

/** One POST in flight, as undici's dispatch handler: no promise, response stream or AbortSignal
 * per request. Ends exactly once, through `settled`: answered, failed, or cut short by the 10 s
 * limit or by stop() (the request abandoned either way). */
class Sending implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** Why it was cut short, if it was. */
  private reason: Error | undefined;
  private status = 0;
  private bytes = 0;
  private ended = false;
  abandoned = false;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly delivery: ClaimedDelivery,
    /** when the attempt began (the platform's clock) */
    readonly at: number,
    private readonly settled: (s: Sending, result: SendResult) => void,
  ) {
    this.timer = setTimeout(expire, DELIVERY_TIMEOUT_MS, this);
  }

  /** Abandons the request; what it ends with is not recorded (stop()). */
  abandon() {
    this.abandoned = true;
    this.cutShort(new Error('stopping'));
  }

  cutShort(reason: Error) {
    if (this.ended || this.reason) return;
    this.reason = reason;
    // Not started yet: onRequestStart aborts it.
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>) {
    this.status = statusCode;
    if (Number(headers['content-length']) > BODY_LIMIT) this.tooLong(controller);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    this.bytes += chunk.length;
    if (this.bytes > BODY_LIMIT) this.tooLong(controller);
  }

  onResponseEnd() {
    this.answered();
  }

  onResponseError(_controller: unknown, error: Error) {
    this.end({ ok: false, error: describe(this.reason ?? error) });
  }

  /** Answered, with more body than is read: counted by its status, the connection closed. */
  private tooLong(controller: Dispatcher.DispatchController) {
    this.answered();
    controller.abort(new Error('response body too long'));
  }

  /** Counted by its status: 2xx is delivered. */
  private answered() {
    this.end({ ok: this.status >= 200 && this.status < 300, status: this.status });
  }

  private end(result: Omit<SendResult, 'ms'>) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.settled(this, { ...result, ms: Math.round(performance.now() - this.started) });
  }
}

/** What went wrong, in words that name no URL, header or secret. */
function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'TIMEOUT') return (e as Error).message;
  if (code === 'EADDRNOTALLOWED') return 'the host resolves to an internal address only';
  if (typeof code === 'string') return `connection failed (${code})`;
  return 'request failed';
}
