import type { Dialect } from './database.js';
import type { Executor } from './executor.js';
import type { WebhookEndpointsTable } from './schema.js';

export type EndpointRow = WebhookEndpointsTable;

/** A delivery claimed for sending, with what sending it needs. */
export interface ClaimedDelivery {
  id: number;
  attempts: number;
  lease_until: number | null;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  event: { id: string; type: string; created_at: number; sequence: number; data: string };
}

/** An attempt made, and the delivery's next step. */
export interface FinishedAttempt {
  delivery: ClaimedDelivery;
  attempt: { at: number; status_code: number | null; error: string | null; duration_ms: number; outcome: 'DELIVERED' | 'RETRYING' | 'FAILED'; next_attempt_at: number };
}

const subscribed = (events: string | null, type: string) => events === null || (JSON.parse(events) as string[]).includes(type);

/** Webhook endpoints, the deliveries of events to them and every attempt. On PostgreSQL a claim is
 * a lease taken with FOR UPDATE SKIP LOCKED, so instances never send the same delivery at once and
 * one that dies leaves its claims to the others when the lease runs out; SQLite serves one
 * instance, whose worker keeps its claims in memory. */
export class WebhookRepository {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  insertEndpoint(row: EndpointRow) {
    return this.db.insertInto('webhook_endpoints').values(row).execute();
  }

  /** Whether any customer has an endpoint (a deliveryless store's worker rests). */
  async anyEndpoint() {
    return (await this.db.selectFrom('webhook_endpoints').select('id').limit(1).executeTakeFirst()) !== undefined;
  }

  findEndpoint(customerId: number, id: string) {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('customer_id', '=', customerId).executeTakeFirst();
  }

  async listEndpoints(customerId: number, offset: number, limit: number) {
    const q = this.db.selectFrom('webhook_endpoints').where('customer_id', '=', customerId);
    const [count, rows] = await Promise.all([
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
    ]);
    return { total: Number(count.n), endpoints: rows };
  }

  /** The endpoint and what is still to be sent to it. */
  async deleteEndpoint(customerId: number, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx.deleteFrom('webhook_endpoints').where('id', '=', id).where('customer_id', '=', customerId).executeTakeFirst();
      if (Number(res.numDeletedRows) !== 1) return false;
      await tx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).where('status', '=', 'PENDING').execute();
      return true;
    });
  }

  async rotateSecret(customerId: number, id: string, secret: string, previous: string, previousUntil: number) {
    const res = await this.db
      .updateTable('webhook_endpoints')
      .set({ secret, previous_secret: previous, previous_secret_until: previousUntil })
      .where('id', '=', id)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Deliveries of `eventIds` to every endpoint of their customers subscribed to their types. */
  private async fanOutIn(tx: Executor, events: Array<{ id: string; customer_id: number; type: string }>, now: number) {
    if (events.length === 0) return 0;
    const endpoints = await tx
      .selectFrom('webhook_endpoints')
      .select(['id', 'customer_id', 'events'])
      .where('customer_id', 'in', [...new Set(events.map((e) => Number(e.customer_id)))])
      .execute();
    const rows = events.flatMap((e) =>
      endpoints
        .filter((w) => Number(w.customer_id) === Number(e.customer_id) && subscribed(w.events, e.type))
        .map((w) => ({ event_id: e.id, endpoint_id: w.id, status: 'PENDING', next_attempt_at: now, lease_until: null, created_at: now })),
    );
    for (let i = 0; i < rows.length; i += 500) await tx.insertInto('webhook_deliveries').values(rows.slice(i, i + 500)).execute();
    return rows.length;
  }

  /** In one database transaction (one durable commit for many): records finished attempts with
   * where their deliveries stand after them, and, with `sweep`, turns events not yet dispatched
   * into deliveries, oldest first (instances skip each other's batch). Events are written with
   * their deliveries (EventRepository.append), so only those of an older version are left
   * undispatched. Answers how many events it dispatched. */
  async settle(now: number, finished: FinishedAttempt[], sweep = true, limit = 200): Promise<number> {
    if (!sweep && finished.length === 0) return 0;
    // A read first: most looks find nothing, and need no write lock to say so.
    const waiting = sweep ? await this.db.selectFrom('events').select('id').where('dispatched', '=', 0).limit(1).executeTakeFirst() : undefined;
    if (!waiting && finished.length === 0) return 0;
    return this.db.transaction().execute(async (tx) => {
      if (finished.length > 0) await this.recordIn(tx, finished);
      if (!waiting) return 0;
      const q = tx.selectFrom('events').select(['id', 'customer_id', 'type']).where('dispatched', '=', 0).orderBy('created_at').limit(limit);
      const events = await (this.dialect === 'postgres' ? q.forUpdate().skipLocked() : q).execute();
      if (events.length === 0) return 0;
      await this.fanOutIn(tx, events, now);
      await tx.updateTable('events').set({ dispatched: 1 }).where('id', 'in', events.map((e) => e.id)).execute();
      return events.length;
    });
  }

  /** New deliveries of one event, whatever happened to the earlier ones (redeliver). */
  async redeliver(event: { id: string; customer_id: number; type: string }, now: number) {
    return this.db.transaction().execute((tx) => this.fanOutIn(tx, [event], now));
  }

  /** Due deliveries for this instance to send, at most `limit`. `held`: what this instance is
   * sending already (SQLite's claims). */
  async claim(now: number, limit: number, leaseMs: number, held: Iterable<number>): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    let ids: number[];
    if (this.dialect === 'postgres') {
      const rows = await this.db
        .updateTable('webhook_deliveries')
        .set({ lease_until: now + leaseMs })
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('status', '=', 'PENDING')
            .where('next_attempt_at', '<=', now)
            .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', now)]))
            .orderBy('next_attempt_at')
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .returning('id')
        .execute();
      ids = rows.map((r) => Number(r.id));
    } else {
      const skip = [...held];
      let q = this.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'PENDING').where('next_attempt_at', '<=', now);
      if (skip.length > 0) q = q.where('id', 'not in', skip);
      ids = (await q.orderBy('next_attempt_at').limit(limit).execute()).map((r) => Number(r.id));
    }
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
      .select(['d.id', 'd.attempts', 'd.lease_until', 'd.endpoint_id', 'w.url', 'w.secret', 'w.previous_secret', 'w.previous_secret_until'])
      .select(['e.id as event_id', 'e.type', 'e.created_at', 'e.sequence', 'e.data'])
      .where('d.id', 'in', ids)
      .execute();
    // Its event aged out, or its endpoint went, meanwhile: nothing left to send.
    const orphans = ids.filter((id) => !rows.some((r) => Number(r.id) === id));
    if (orphans.length > 0) await this.db.updateTable('webhook_deliveries').set({ status: 'FAILED', lease_until: null }).where('id', 'in', orphans).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      attempts: Number(r.attempts),
      lease_until: r.lease_until === null ? null : Number(r.lease_until),
      endpoint_id: r.endpoint_id,
      url: r.url,
      secret: r.secret,
      previous_secret: r.previous_secret,
      previous_secret_until: r.previous_secret_until === null ? null : Number(r.previous_secret_until),
      event: { id: r.event_id, type: r.type, created_at: Number(r.created_at), sequence: Number(r.sequence), data: r.data },
    }));
  }

  /** Each attempt and where its delivery stands after it. On PostgreSQL a delivery moves only
   * while the lease is still this instance's: otherwise another took it over and decides. */
  private async recordIn(tx: Executor, finished: FinishedAttempt[]) {
    // Delivered is delivered, whoever holds the lease: those move in one statement.
    const delivered = finished.filter((f) => f.attempt.outcome === 'DELIVERED').map((f) => f.delivery.id);
    if (delivered.length > 0) {
      await tx
        .updateTable('webhook_deliveries')
        .set((eb) => ({ status: 'DELIVERED', attempts: eb('attempts', '+', 1), lease_until: null }))
        .where('id', 'in', delivered)
        .where('status', '=', 'PENDING')
        .execute();
    }
    for (const { delivery: d, attempt } of finished.filter((f) => f.attempt.outcome !== 'DELIVERED')) {
      let q = tx
        .updateTable('webhook_deliveries')
        .set({ status: attempt.outcome === 'RETRYING' ? 'PENDING' : attempt.outcome, attempts: d.attempts + 1, next_attempt_at: attempt.next_attempt_at, lease_until: null })
        .where('id', '=', d.id)
        .where('status', '=', 'PENDING');
      if (this.dialect === 'postgres') q = d.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', d.lease_until);
      await q.execute();
    }
    const rows = finished.map(({ delivery: d, attempt }) => ({
      delivery_id: d.id,
      endpoint_id: d.endpoint_id,
      event_id: d.event.id,
      event_type: d.event.type,
      attempt: d.attempts + 1,
      at: attempt.at,
      status_code: attempt.status_code,
      error: attempt.error,
      duration_ms: attempt.duration_ms,
      outcome: attempt.outcome,
    }));
    for (let i = 0; i < rows.length; i += 200) await tx.insertInto('webhook_attempts').values(rows.slice(i, i + 200)).execute();
  }

  /** Claims given back unsent (a stopping instance): due again at once, for any instance. */
  async release(ids: number[]) {
    if (ids.length === 0 || this.dialect !== 'postgres') return;
    await this.db.updateTable('webhook_deliveries').set({ lease_until: null }).where('id', 'in', ids).where('status', '=', 'PENDING').execute();
  }

  /** The attempts made to one endpoint, newest first. */
  async attempts(endpointId: string, offset: number, limit: number) {
    const q = this.db.selectFrom('webhook_attempts').where('endpoint_id', '=', endpointId);
    const [count, rows] = await Promise.all([
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      q.selectAll().orderBy('id', 'desc').offset(offset).limit(limit).execute(),
    ]);
    return { total: Number(count.n), attempts: rows };
  }

  /** When the next delivery falls due, if any is waiting. */
  async nextDue(): Promise<number | undefined> {
    const row = await this.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('status', '=', 'PENDING').executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }
}
