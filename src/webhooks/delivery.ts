import type { Worker } from 'node:worker_threads';
import type { ClaimedDelivery, FinishedAttempt, WebhookRepository } from '../db/webhook-repository.js';
import { NOT_SENT, ReceiverHealth } from './receiver-health.js';
import { SendThread } from './send-thread-handle.js';
import { signingKey, type SecretBox } from './secrets.js';
import { DELIVERY_TIMEOUT_MS, type SendOrder, type SendResult } from './send-orders.js';
import type { UrlPolicy } from './url-policy.js';

/** A claim on PostgreSQL outlives the attempt it covers; an instance that dies leaves it to the others then. */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5_000;
const POLL_MS = 1_000;
/** Wake-ups that come together are handled together: a look (recording what was answered and
 * claiming what is due, one round trip on PostgreSQL, one durable commit on SQLite) starts a few
 * ms after the first wake-up, and at most one every PASS_MS however many changes commit and
 * answers arrive meanwhile: under load a look handles many deliveries at once. Behind (the last
 * claim took every free slot, so more was due), a look starts as soon as half the slots are
 * answered: with fast receivers the slots would otherwise stand empty until PASS_MS, and a busy
 * instance would deliver at most maxInFlight per PASS_MS, falling ever further behind. */
const GATHER_MS = 3;
const PASS_MS = 50;
/** While the event loop that serves the API was busy for more than BUSY of the time since the last
 * look, looks are spaced BUSY_PASS_MS apart instead: each handles more deliveries at once, so
 * their fixed cost (a commit, a claim, a message to the send thread and its burst of requests)
 * takes less of that loop when it has none to spare. Delivery waits up to that much longer then;
 * an instance with time to spare delivers as soon as before. */
const BUSY = 0.8;
const BUSY_PASS_MS = 100;
/** Claims look for due deliveries from the earliest pending one on, less this much, as the last
 * sweep found it (WebhookRepository.dueFrom): on PostgreSQL they no longer step over every
 * delivery made since the last VACUUM. A delivery committed later, but due before that (a change
 * whose transaction took longer than this, an instance whose clock is behind), waits for the next
 * sweep's floor, within POLL_MS. */
const FLOOR_MARGIN_MS = 1_000;

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
  /** Claimed by this instance until their attempt is recorded (SQLite's leases): when each attempt began. */
  private readonly inFlight = new Map<number, Attempt>();
  private finished: FinishedAttempt[] = [];
  private scheduled: NodeJS.Timeout | undefined;
  /** When the scheduled look starts (performance.now()). */
  private scheduledAt = Infinity;
  /** The last claim filled every free slot: more deliveries were due than it could take. */
  private behind = false;
  private running = false;
  /** When the last look started (performance.now()). */
  private lastLook = -Infinity;
  /** How far apart looks are now: PASS_MS, or BUSY_PASS_MS while the event loop is busy. */
  private pass = PASS_MS;
  /** The event loop's utilization when `pass` was last judged. */
  private loop = performance.eventLoopUtilization();
  private again = false;
  /** Look for undispatched events on the next run (at start, then every second). */
  private sweep = true;
  /** Whether any customer has an endpoint, as the last sweep found it or this instance made one
   * since: without one, no change makes a delivery, and a wake-up needs no look. Another
   * instance's new endpoint is found by the next sweep, within a second; what it meanwhile
   * delivers is claimed by that instance (woken by every change) or by the sweep. */
  private endpoints = true;
  /** Where claims start looking (next_attempt_at), as the last sweep found it; undefined: from the start. */
  private from: number | undefined;
  /** Counts deliveriesMade(): a sweep's read that overlaps one does not say "none". */
  private made = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Makes the POSTs. */
  private readonly thread: SendThread;
  /** Keeps a slow or dead receiver to its share of the slots: half of them at most. */
  private readonly health: ReceiverHealth;
  /** Signing keys by endpoint, as decrypted from the sealed secrets they were read with (a rotation
   * seals new ones, so a changed secret is decrypted again). */
  private readonly keys = new Map<string, { sealed: string; key: Uint8Array; previousSealed: string | null; previousKey: Uint8Array | null }>();

  constructor(
    private readonly repo: WebhookRepository,
    private readonly box: SecretBox,
    private readonly now: () => number,
    private readonly settings: WorkerSettings,
    private readonly observe: (outcome: AttemptOutcome) => void = () => {},
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    this.health = new ReceiverHealth(Math.ceil(settings.maxInFlight / 2));
    this.thread = new SendThread(
      { connections: settings.maxInFlight, publicOnly: settings.policy.production && !settings.policy.allowPrivate },
      (results) => {
        for (const r of results) this.settled(r);
      },
      (e) => {
        // What it was sending is lost with it: failed attempts, sent again by the schedule.
        this.onError(e);
        for (const [id, attempt] of this.inFlight) this.settled({ id, ok: false, ms: Math.max(0, this.now() - attempt.at), error: 'request failed' });
      },
    );
  }

  /** Deliveries being sent right now. */
  get sending() {
    return this.inFlight.size;
  }

  /** The send thread while it runs (a test ends it to see what it was sending survive). */
  get sendThread(): Worker | undefined {
    return this.thread.running;
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
    const now = performance.now();
    const at = now + (this.behind && 2 * this.finished.length >= this.settings.maxInFlight ? GATHER_MS : Math.max(GATHER_MS, this.lastLook + this.pass - now));
    if (this.scheduled && this.scheduledAt <= at) return;
    clearTimeout(this.scheduled);
    this.scheduledAt = at;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.scheduledAt = Infinity;
      this.running = true;
      void this.run()
        .catch((e) => this.onError(e))
        .finally(() => {
          this.running = false;
          if (this.again) this.wake();
        });
    }, at - now);
  }

  private async run() {
    let full: boolean;
    do {
      this.again = false;
      this.lastLook = performance.now();
      // Judged over PASS_MS at least: the looks a backlog makes one after another are not a measure.
      const loop = performance.eventLoopUtilization();
      const since = performance.eventLoopUtilization(loop, this.loop);
      if (since.active + since.idle >= PASS_MS) {
        this.pass = since.utilization > BUSY ? BUSY_PASS_MS : PASS_MS;
        this.loop = loop;
      }
      const finished = this.finished;
      this.finished = [];
      const sweep = this.sweep;
      this.sweep = false;
      // What is answered leaves its slot to a new claim in the same statement.
      const free = this.stopped ? 0 : this.settings.maxInFlight - (this.inFlight.size - finished.length);
      let claimed: ClaimedDelivery[];
      const look = this.health.look(this.inFlight.values(), this.now());
      try {
        if (sweep) {
          const made = this.made;
          const any = await this.repo.anyEndpoint();
          this.endpoints = any || made !== this.made;
          while ((await this.repo.dispatch(this.now())) > 0 && !this.stopped);
          if (this.endpoints) {
            const due = await this.repo.dueFrom(this.now());
            this.from = due === undefined ? undefined : due - FLOOR_MARGIN_MS;
          }
        }
        claimed = await this.repo.cycle(this.now(), finished, free, LEASE_MS, this.inFlight.keys(), this.from, look.skip);
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
      const orders: SendOrder[] = [];
      const handedBack: number[] = [];
      for (const d of claimed) {
        const admission = look.admit(d.endpoint_id);
        if (admission === 'hand-back') handedBack.push(d.id);
        else if (admission === 'not-sent') this.notSent(d);
        else {
          const order = this.order(d);
          if (order) orders.push(order);
        }
      }
      this.thread.send(orders);
      if (handedBack.length > 0) await this.repo.release(handedBack);
      // More may be due at once; wake-ups meanwhile wait for the next gathered look.
      full = free > 0 && claimed.length === free;
      // Every slot taken, by this claim or before it: more may be due than there was room for.
      this.behind = full || free === 0;
    } while (full && !this.stopped);
  }

  /** One POST, signed with every secret the endpoint signs with now. */
  private order(d: ClaimedDelivery): SendOrder | undefined {
    const at = this.now();
    this.inFlight.set(d.id, { delivery: d, at });
    let known: ReturnType<typeof this.keysOf>;
    try {
      known = this.keysOf(d);
    } catch {
      // A secret that does not decrypt: a failed attempt like any other, not sent.
      this.settled({ id: d.id, ok: false, ms: 0, error: 'request failed' });
      return undefined;
    }
    const keys = [known.key];
    if (known.previousKey && d.previous_secret_until !== null && d.previous_secret_until > at) keys.push(known.previousKey);
    return { id: d.id, url: d.url, timestamp: Math.floor(at / 1000), keys, event: d.event };
  }

  /** A failed attempt without a request: its endpoint is down (receiver-health.ts). */
  private notSent(d: ClaimedDelivery) {
    this.inFlight.set(d.id, { delivery: d, at: this.now() });
    this.settled({ id: d.id, ok: false, ms: 0, error: NOT_SENT });
  }

  /** An attempt has ended: recorded with the delivery's next step by the next look, unless it was
   * abandoned by stop() (or ended already). */
  private settled(result: SendResult) {
    const attempt = this.inFlight.get(result.id);
    if (this.stopped || !attempt || attempt.ended) return;
    attempt.ended = true;
    const d = attempt.delivery;
    this.health.ended(d.endpoint_id, result.status !== undefined ? 'answered' : result.timedOut ? 'timed-out' : 'failed');
    const last = d.attempts >= this.settings.schedule.length;
    const outcome: AttemptOutcome = result.ok ? 'DELIVERED' : last ? 'FAILED' : 'RETRYING';
    const next = outcome === 'RETRYING' ? attempt.at + this.settings.schedule[d.attempts]! : attempt.at;
    this.finished.push({ delivery: d, attempt: { at: attempt.at, status_code: result.status ?? null, error: result.error ?? null, duration_ms: result.ms, outcome, next_attempt_at: next } });
    this.wake();
  }

  /** The endpoint's signing keys, decrypted once per sealed secret. */
  private keysOf(d: ClaimedDelivery) {
    let known = this.keys.get(d.endpoint_id);
    if (!known || known.sealed !== d.secret || known.previousSealed !== d.previous_secret) {
      if (this.keys.size >= 10_000) this.keys.clear();
      known = {
        sealed: d.secret,
        key: ownBytes(signingKey(this.box.open(d.secret, d.endpoint_id))),
        previousSealed: d.previous_secret,
        previousKey: d.previous_secret ? ownBytes(signingKey(this.box.open(d.previous_secret, d.endpoint_id))) : null,
      };
      this.keys.set(d.endpoint_id, known);
    }
    return known;
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
    await this.thread.stop();
    await this.repo.release([...this.inFlight.keys()]).catch(() => {});
  }
}

/** A delivery being sent, and when its attempt began (the platform's clock). */
interface Attempt {
  delivery: ClaimedDelivery;
  at: number;
  ended?: boolean;
}

/** The bytes in an array of their own: a small Buffer is a view of a shared 8 KiB pool, all of
 * which a message to the thread would copy with it. */
const ownBytes = (bytes: Buffer) => new Uint8Array(bytes);
