import { Agent } from 'undici';
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
  private readonly inFlight = new Map<number, AbortController>();
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

  private send(d: ClaimedDelivery) {
    const abort = new AbortController();
    this.inFlight.set(d.id, abort);
    void this.attempt(d, abort)
      .then((result) => {
        if (abort.signal.aborted && this.stopped) return;
        const last = d.attempts >= this.settings.schedule.length;
        const outcome: AttemptOutcome = result.ok ? 'DELIVERED' : last ? 'FAILED' : 'RETRYING';
        const next = outcome === 'RETRYING' ? result.at + this.settings.schedule[d.attempts]! : result.at;
        this.finished.push({ delivery: d, attempt: { at: result.at, status_code: result.status ?? null, error: result.error ?? null, duration_ms: result.ms, outcome, next_attempt_at: next } });
        this.wake();
      })
      .catch((e) => this.onError(e));
  }

  /** One POST, signed with every secret the endpoint signs with now. Never throws. */
  private async attempt(d: ClaimedDelivery, abort: AbortController): Promise<{ ok: boolean; at: number; ms: number; status?: number; error?: string }> {
    const at = this.now();
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    // No answer in time: the request is abandoned, the attempt is not delivered.
    const timer = setTimeout(() => abort.abort(Object.assign(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`), { code: 'TIMEOUT' })), DELIVERY_TIMEOUT_MS);
    try {
      const body = eventBody(d.event);
      const keys = this.keysOf(d);
      const secrets = [keys.key];
      if (keys.previousKey && d.previous_secret_until !== null && d.previous_secret_until > at) secrets.push(keys.previousKey);
      const timestamp = Math.floor(at / 1000);
      const url = this.urlOf(d.url);
      const res = await this.client.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'cloudpos-webhooks/1',
          'webhook-id': d.event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(secrets, d.event.id, timestamp, body),
        },
        body,
        signal: abort.signal,
      });
      // Only the status counts: the body is read and dropped (up to 64 KiB, past which the connection is closed), so the connection can be reused.
      await res.body.dump({ limit: 65_536, signal: abort.signal });
      return { ok: res.statusCode >= 200 && res.statusCode < 300, at, ms: ms(), status: res.statusCode };
    } catch (e) {
      return { ok: false, at, ms: ms(), error: describe(abort.signal.aborted ? (abort.signal.reason ?? e) : e) };
    } finally {
      clearTimeout(timer);
    }
  }

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
    for (const abort of this.inFlight.values()) abort.abort();
    await this.repo.release(abandoned).catch(() => {});
    await this.client.destroy().catch(() => {});
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
