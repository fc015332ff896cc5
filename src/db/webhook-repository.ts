import { sql } from 'kysely';
import type { Dialect } from './database.js';
import type { Executor } from './executor.js';
import { withoutOwnSync } from './sqlite-driver.js';
import type { Tables, WebhookEndpointsTable } from './schema.js';
import type { TallySource } from '../webhooks/log-counts.js';
import type { ClaimedDelivery, ClaimedRow, FinishedAttempt } from './delivery-rows.js';

export type { ClaimedDelivery, FinishedAttempt } from './delivery-rows.js';

export type EndpointRow = WebhookEndpointsTable;

/** The predicates of the partial indexes `events_undispatched` and `webhook_deliveries_due`, written
 * as literals: with a parameter in their place SQLite took 8.2 and 9.7 µs for the look's queries
 * against 4.7 and 5.4 µs, and a PostgreSQL generic plan could not use the indexes. */
const UNDISPATCHED = sql.lit(0);
const PENDING = sql.lit('PENDING');

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

  /** Inserts the endpoint unless its customer has `max` already: false then. On PostgreSQL a
   * customer's creations wait for each other (its row locked), so two at once cannot both find room. */
  insertEndpoint(row: EndpointRow, max: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      if (this.dialect === 'postgres') await tx.selectFrom('customers').select('id').where('id', '=', row.customer_id).forNoKeyUpdate().execute();
      const { n } = await tx.selectFrom('webhook_endpoints').where('customer_id', '=', row.customer_id).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(n) >= max) return false;
      await tx.insertInto('webhook_endpoints').values(row).execute();
      return true;
    });
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
      // Through the index of due deliveries (its predicate a literal): there is none by endpoint.
      const pending = tx.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', id).where('status', '=', PENDING);
      // On PostgreSQL the deliveries a worker's look holds at this moment are skipped, not waited
      // for: a look locks what it claims, then what it records, so a deletion that waited for one
      // while holding others could deadlock with it (and fail). What is skipped was being sent
      // already; if it is not delivered, the claim that next meets it without its endpoint fails it.
      await tx.deleteFrom('webhook_deliveries').where('id', 'in', this.dialect === 'postgres' ? pending.forUpdate().skipLocked() : pending).execute();
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

  /** Turns events not yet dispatched into deliveries, oldest first, in one database transaction
   * (instances skip each other's batch). Events are written with their deliveries
   * (EventRepository.append), so only those of an older version are left undispatched. Answers
   * how many events it dispatched. */
  async dispatch(now: number, limit = 200): Promise<number> {
    // A read first: most looks find nothing, and need no write lock to say so.
    const waiting = await this.db.selectFrom('events').select('id').where('dispatched', '=', UNDISPATCHED).limit(1).executeTakeFirst();
    if (!waiting) return 0;
    return this.db.transaction().execute(async (tx) => {
      const q = tx.selectFrom('events').select(['id', 'customer_id', 'type']).where('dispatched', '=', UNDISPATCHED).orderBy('created_at').limit(limit);
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

  /** Records `finished` (each attempt, and where its delivery stands after it) and claims due
   * deliveries for this instance to send, at most `limit`: on PostgreSQL in one statement, atomic
   * like a transaction (the recording, and a lease on each claimed delivery taken with FOR UPDATE
   * SKIP LOCKED); on SQLite the recording is one database transaction and the claim a read that
   * skips `held`, what this instance is sending already (SQLite serves one instance; its claims
   * live in memory). PostgreSQL claims only deliveries due at `from` or later, if given (dueFrom).
   * No delivery to an endpoint in `skip` is claimed. */
  async cycle(now: number, finished: FinishedAttempt[], limit: number, leaseMs: number, held: Iterable<number>, from?: number, skip: readonly string[] = []): Promise<ClaimedDelivery[]> {
    if (finished.length === 0 && limit <= 0) return [];
    let rows: ClaimedRow[];
    if (this.dialect === 'postgres') {
      rows = await this.cyclePostgres(now, finished, Math.max(0, limit), leaseMs, from, skip);
    } else {
      rows = await this.cycleSqlite(now, finished, Math.max(0, limit), held, skip);
    }
    // Its event aged out, or its endpoint went, meanwhile: nothing left to send.
    const orphans = rows.filter((r) => r.url === null || r.event_id === null).map((r) => Number(r.id));
    if (orphans.length > 0) await this.db.updateTable('webhook_deliveries').set({ status: 'FAILED', lease_until: null }).where('id', 'in', orphans).execute();
    return rows
      .filter((r) => r.url !== null && r.event_id !== null)
      .map((r) => ({
        id: Number(r.id),
        attempts: Number(r.attempts),
        lease_until: r.lease_until === null ? null : Number(r.lease_until),
        endpoint_id: r.endpoint_id,
        url: r.url!,
        secret: r.secret!,
        previous_secret: r.previous_secret,
        previous_secret_until: r.previous_secret_until === null ? null : Number(r.previous_secret_until),
        event: { id: r.event_id!, type: r.type!, created_at: Number(r.created_at), sequence: Number(r.sequence), data: r.data! },
      }));
  }

  /** The attempts recorded in one durable commit, with the claim read on the writing connection,
   * whose page cache holds the deliveries the changes just wrote (the reading connection's is
   * dropped at every commit); what is claimed is handed out once that commit has returned. With
   * nothing to record the claim is a read alone. */
  private async cycleSqlite(now: number, finished: FinishedAttempt[], limit: number, held: Iterable<number>, endpoints: readonly string[]): Promise<ClaimedRow[]> {
    const skip = { ids: JSON.stringify([...held]), endpoints };
    if (finished.length === 0) return this.claimSqlite(this.db, now, limit, skip);
    // Lost with the machine (not with the process) before a later durable commit, an attempt's
    // record only makes its delivery go again, with the same webhook-id: at least once is kept,
    // and the API's thread does not wait for the disk at every look.
    return withoutOwnSync<Tables, ClaimedRow[]>(this.db, async (tx) => {
      await this.recordIn(tx, finished);
      return limit > 0 ? this.claimSqlite(tx, now, limit, skip) : [];
    });
  }

  /** Due deliveries, oldest first, but those in `skip.ids` (a JSON array: one statement whatever
   * their number) and those to `skip.endpoints`. */
  private async claimSqlite(db: Executor, now: number, limit: number, skip: { ids: string; endpoints: readonly string[] }): Promise<ClaimedRow[]> {
    const result = await sql<ClaimedRow>`select d.id, d.attempts, d.lease_until, d.endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_until,
             e.id as event_id, e.type, e.created_at, e.sequence, e.data
        from webhook_deliveries d
        left join events e on e.id = d.event_id
        left join webhook_endpoints w on w.id = d.endpoint_id
       where d.status = ${PENDING} and d.next_attempt_at <= ${now} and d.id not in (select value from json_each(${skip.ids}))
         ${skip.endpoints.length === 0 ? sql`` : sql`and d.endpoint_id not in (select value from json_each(${JSON.stringify(skip.endpoints)}))`}
       order by d.next_attempt_at
       limit ${limit}`.execute(db);
    return result.rows;
  }

  /** One round trip: the finished attempts as arrays (unnest), inserted and applied by
   * data-modifying CTEs, and the claim, all under the statement's single snapshot. A delivered
   * attempt moves its delivery whoever holds the lease; any other moves it only while the lease is
   * still the one it was sent under (otherwise another instance took it over and decides). What
   * was just finished is not claimed again in the same statement. */
  private async cyclePostgres(now: number, finished: FinishedAttempt[], limit: number, leaseMs: number, from: number | undefined, skip: readonly string[]): Promise<ClaimedRow[]> {
    const col = <T>(pick: (f: FinishedAttempt) => T) => finished.map(pick);
    const ids = col((f) => f.delivery.id);
    const record =
      finished.length === 0
        ? sql``
        : sql`finished as (
            select * from unnest(${ids}::bigint[], ${col((f) => f.attempt.outcome === 'DELIVERED')}::boolean[],
              ${col((f) => (f.attempt.outcome === 'RETRYING' ? 'PENDING' : f.attempt.outcome))}::text[], ${col((f) => f.delivery.attempts + 1)}::int[],
              ${col((f) => f.attempt.next_attempt_at)}::bigint[], ${col((f) => f.delivery.lease_until)}::bigint[],
              ${col((f) => f.delivery.endpoint_id)}::text[], ${col((f) => f.delivery.event.id)}::text[], ${col((f) => f.delivery.event.type)}::text[],
              ${col((f) => f.attempt.at)}::bigint[], ${col((f) => f.attempt.status_code)}::int[], ${col((f) => f.attempt.error)}::text[],
              ${col((f) => f.attempt.duration_ms)}::int[], ${col((f) => f.attempt.outcome)}::text[])
              as f(id, delivered, status, attempt, next_attempt_at, lease_until, endpoint_id, event_id, event_type, at, status_code, error, duration_ms, outcome)
          ),
          recorded as (
            insert into webhook_attempts (delivery_id, endpoint_id, event_id, event_type, attempt, at, status_code, error, duration_ms, outcome)
            select id, endpoint_id, event_id, event_type, attempt, at, status_code, error, duration_ms, outcome from finished
          ),
          moved as (
            update webhook_deliveries d
               set status = f.status,
                   attempts = case when f.delivered then d.attempts + 1 else f.attempt end,
                   next_attempt_at = case when f.delivered then d.next_attempt_at else f.next_attempt_at end,
                   lease_until = null
              from finished f
             where d.id = f.id and d.status = 'PENDING' and (f.delivered or d.lease_until is not distinct from f.lease_until)
          ),`;
    const result = await sql<ClaimedRow>`with ${record}
      claimed as (
        update webhook_deliveries set lease_until = ${now + leaseMs}::bigint
         where id in (
           select id from webhook_deliveries
            where status = 'PENDING' and next_attempt_at <= ${now}::bigint and (lease_until is null or lease_until < ${now}::bigint)
              ${from === undefined ? sql`` : sql`and next_attempt_at >= ${from}::bigint`}
              ${skip.length === 0 ? sql`` : sql`and endpoint_id <> all(${[...skip]}::text[])`}
              and id <> all(${ids}::bigint[])
            order by next_attempt_at
            limit ${limit}
            for update skip locked)
        returning id, attempts, lease_until, endpoint_id, event_id
      )
      select c.id, c.attempts, c.lease_until, c.endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_until,
             e.id as event_id, e.type, e.created_at, e.sequence, e.data
        from claimed c
        left join events e on e.id = c.event_id
        left join webhook_endpoints w on w.id = c.endpoint_id`.execute(this.db);
    return result.rows;
  }

  /** Each attempt and where its delivery stands after it (SQLite: one instance, no leases), in
   * updates of one shape whatever their number (the lists go as JSON). */
  private async recordIn(tx: Executor, finished: FinishedAttempt[]) {
    // Delivered is delivered: those move in one statement.
    const delivered = finished.filter((f) => f.attempt.outcome === 'DELIVERED').map((f) => f.delivery.id);
    if (delivered.length > 0) {
      await sql`update webhook_deliveries set status = 'DELIVERED', attempts = attempts + 1, lease_until = null
        where id in (select value from json_each(${JSON.stringify(delivered)})) and status = ${PENDING}`.execute(tx);
    }
    const others = finished.filter((f) => f.attempt.outcome !== 'DELIVERED');
    if (others.length > 0) {
      const moves = others.map(({ delivery: d, attempt }) => [d.id, attempt.outcome === 'RETRYING' ? 'PENDING' : attempt.outcome, d.attempts + 1, attempt.next_attempt_at]);
      await sql`update webhook_deliveries
           set status = m.value ->> 1, attempts = m.value ->> 2, next_attempt_at = m.value ->> 3, lease_until = null
          from json_each(${JSON.stringify(moves)}) m
         where webhook_deliveries.id = m.value ->> 0 and webhook_deliveries.status = ${PENDING}`.execute(tx);
    }
    // Bound values: extracting ten columns a row from JSON took twice as long.
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

  /** The attempts made to one endpoint from `horizon` on, newest first (their count: attemptTally). */
  attempts(endpointId: string, horizon: number, offset: number, limit: number) {
    return this.db
      .selectFrom('webhook_attempts')
      .where('endpoint_id', '=', endpointId)
      .where('at', '>=', horizon)
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** An endpoint's attempts by time, for LogCounts (one type: they are not counted by it). */
  readonly attemptTally: TallySource<string> = {
    countsByBucket: async (endpointId, from, to, bucketMs) => {
      const { rows } = await sql<{ bucket: number; n: number }>`
        select cast(at / ${bucketMs} as integer) as bucket, count(*) as n from webhook_attempts
         where endpoint_id = ${endpointId} and at >= ${from} and at < ${to}
         group by 1`.execute(this.db);
      return rows.map((r) => ({ bucket: Number(r.bucket), type: '', n: Number(r.n) }));
    },
    countFrom: async (endpointId, _type, from) => {
      const row = await this.db
        .selectFrom('webhook_attempts')
        .where('endpoint_id', '=', endpointId)
        .where('at', '>=', from)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };

  /** Where PostgreSQL's claims may start (`cycle`'s `from`): the earliest pending delivery's due
   * time, or `now` when none is pending or the earliest falls due later. Each delivery claimed
   * and recorded leaves two dead entries in the index of due ones until VACUUM, sorted below every
   * live one, which a claim from the start steps over. SQLite removes an index entry with its row. */
  async dueFrom(now: number): Promise<number | undefined> {
    if (this.dialect !== 'postgres') return undefined;
    const row = await this.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('status', '=', PENDING).executeTakeFirst();
    return row?.at === null || row?.at === undefined ? now : Math.min(now, Number(row.at));
  }
}
