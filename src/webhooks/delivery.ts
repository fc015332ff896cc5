import http from 'node:http';
import https from 'node:https';
import type { ClaimedDelivery, FinishedAttempt, WebhookRepository } from '../db/webhook-repository.js';
import { eventJson } from './event-types.js';
import { signatureHeader, type SecretBox } from './secrets.js';
import { publicOnlyLookup, type UrlPolicy } from './url-policy.js';

/** A 2xx within this long is delivered (Standard Webhooks; DESIGN.md, "Webhooks"). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** A claim on PostgreSQL outlives the attempt it covers; an instance that dies leaves it to the others then. */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5_000;
const POLL_MS = 1_000;
/** Wake-ups that come together are handled together: one look (one claim, one durable commit
 * recording many attempts) at most every few ms, however many changes commit meanwhile. */
const GATHER_MS = 3;

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
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(
    private readonly repo: WebhookRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
    private readonly settings: WorkerSettings,
    private readonly observe: (outcome: AttemptOutcome) => void = () => {},
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    const options = { keepAlive: true, maxSockets: settings.maxInFlight };
    this.agents = { http: new http.Agent(options), https: new https.Agent(options) };
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
    }, GATHER_MS);
  }

  private async run() {
    let full: boolean;
    do {
      this.again = false;
      const finished = this.finished;
      this.finished = [];
      const sweep = this.sweep;
      this.sweep = false;
      try {
        if (sweep) {
          const made = this.made;
          const any = await this.repo.anyEndpoint();
          this.endpoints = any || made !== this.made;
        }
        let dispatched = await this.repo.settle(this.now(), finished, sweep);
        while (dispatched > 0 && !this.stopped) dispatched = await this.repo.settle(this.now(), [], true);
      } catch (e) {
        // Not recorded: those deliveries stay claimed here until a later look records them.
        this.finished.push(...finished);
        this.sweep ||= sweep;
        throw e;
      }
      for (const f of finished) this.observe(f.attempt.outcome);
      for (const f of finished) this.inFlight.delete(f.delivery.id);
      const free = this.settings.maxInFlight - this.inFlight.size;
      if (free <= 0 || this.stopped) return;
      const claimed = await this.repo.claim(this.now(), free, LEASE_MS, this.inFlight.keys());
      for (const d of claimed) this.send(d);
      // More may be due at once; wake-ups meanwhile wait for the next gathered look.
      full = claimed.length === free;
    } while (full && !this.stopped);
  }

  private send(d: ClaimedDelivery) {
    const abort = new AbortController();
    this.inFlight.set(d.id, abort);
    void this.attempt(d, abort.signal)
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
  private async attempt(d: ClaimedDelivery, stop: AbortSignal): Promise<{ ok: boolean; at: number; ms: number; status?: number; error?: string }> {
    const at = this.now();
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      const body = JSON.stringify(eventJson(d.event));
      const secrets = [this.box.open(d.secret, d.endpoint_id)];
      if (d.previous_secret && d.previous_secret_until !== null && d.previous_secret_until > at) secrets.push(this.box.open(d.previous_secret, d.endpoint_id));
      const timestamp = Math.floor(at / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'cloudpos-webhooks/1',
        'webhook-id': d.event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, d.event.id, timestamp, body),
      };
      const status = await this.post(d.url, headers, body, stop);
      return { ok: status >= 200 && status < 300, at, ms: ms(), status };
    } catch (e) {
      return { ok: false, at, ms: ms(), error: describe(e) };
    }
  }

  private post(target: string, headers: Record<string, string>, body: string, stop: AbortSignal): Promise<number> {
    const url = new URL(target);
    const secure = url.protocol === 'https:';
    const guard = this.settings.policy.production && !this.settings.policy.allowPrivate;
    return new Promise((resolve, reject) => {
      const signal = AbortSignal.any([stop, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]);
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: secure ? this.agents.https : this.agents.http,
          signal,
          ...(guard && { lookup: publicOnlyLookup }),
        },
        (res) => {
          // Only the status counts: the body is read and dropped, so the connection can be reused.
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', (e) => reject(signal.aborted && !stop.aborted ? Object.assign(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`), { code: 'TIMEOUT' }) : e));
      req.end(body);
    });
  }

  /** Stops claiming, abandons what is in flight (sent again later with the same webhook-id) and
   * hands its claims back at once. */
  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.scheduled);
    // What was answered is recorded; the rest goes back.
    const finished = this.finished.splice(0);
    await this.repo.settle(this.now(), finished, false).catch(() => {});
    for (const f of finished) this.inFlight.delete(f.delivery.id);
    const abandoned = [...this.inFlight.keys()];
    for (const abort of this.inFlight.values()) abort.abort();
    await this.repo.release(abandoned).catch(() => {});
    this.agents.http.destroy();
    this.agents.https.destroy();
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
