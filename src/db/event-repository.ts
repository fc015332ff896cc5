import { sql, type RawBuilder } from 'kysely';
import type { StoreRef } from '../domain/terminal.js';
import { formatTerminalId } from '../domain/terminal-id.js';
import { eventJson, newEventId, type EventType } from '../webhooks/event-types.js';
import type { Dialect } from './database.js';
import { deleteFirstOlderInSlices, deleteOlderInSlices, RETENTION_SLICE, type LogTable } from './delete-in-slices.js';
import type { Executor } from './executor.js';
import type { Tables } from './schema.js';
import { withoutOwnSync } from './sqlite-driver.js';

/** Terminals per statement of seen-times, and per transaction of online/offline edges with their
 * events (six parameters each). SQLite's statements run on the event loop, so its slices are
 * small: 2,000 seen-times take 1–2 ms (each statement also costs its transaction's 30 KB of
 * garbage); building a statement of many events takes time on both. */
const PRESENCE_SLICES: Record<Dialect, { times: number; edges: number }> = {
  sqlite: { times: 2_000, edges: 50 },
  postgres: { times: 5_000, edges: 200 },
};

/** How many terminals' references are kept for their events. */
const KNOWN_TERMINALS = 10_000;

/** Integers as PostgreSQL's text form of an array. */
const arrayLiteral = (values: number[]) => `{${values.join(',')}}`;

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

type EventInput = { customer_id: number; type: EventType; subject: string; data: unknown; at: number };

/** What an event names of a terminal. A terminal as read (`Terminal`) is one: its store may hold
 * more than a StoreRef, and an event's payload takes the store's uuid and name alone. */
export interface TerminalRef {
  id: string;
  customer_id: number;
  store: StoreRef;
}

/** The event log and outbox: appended to inside the database transaction of each change, read by
 * the events API, drained into deliveries by the webhook worker. */
export class EventRepository {
  /** What an event names of a terminal never changes once it is registered. */
  private readonly terminals = new Map<number, TerminalRef>();
  /** The text of each slice of a held list given to recordLastSeen, while that list lives. */
  private readonly heldSlices = new WeakMap<number[], string[]>();

  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  /** What the caller read of a terminal, kept for its events. */
  remember(pk: number, ref: TerminalRef): TerminalRef {
    // Past KNOWN_TERMINALS the longest known goes (a fleet's first polls tell every terminal).
    if (this.terminals.size >= KNOWN_TERMINALS && !this.terminals.has(pk)) this.terminals.delete(this.terminals.keys().next().value!);
    this.terminals.set(pk, ref);
    return ref;
  }

  /** The terminal a transaction event names, with its store. */
  async terminalRef(pk: number, db: Executor = this.db): Promise<TerminalRef> {
    // Known already on every change but a terminal's first: no lists built for one lookup.
    return this.terminals.get(pk) ?? (await this.terminalRefs([pk], db))[0]!;
  }

  /** `terminalRef` of each of `pks`, in their order: those not known yet in one query. */
  async terminalRefs(pks: number[], db: Executor = this.db): Promise<TerminalRef[]> {
    const refs = new Map<number, TerminalRef | undefined>(pks.map((pk) => [pk, this.terminals.get(pk)]));
    const missing = pks.filter((pk) => refs.get(pk) === undefined);
    if (missing.length > 0) {
      const rows = await db
        .selectFrom('terminals')
        .innerJoin('stores', 'stores.uuid', 'terminals.store_uuid')
        .innerJoin('merchants', 'merchants.id', 'stores.merchant_id')
        .select(['terminals.id', 'terminals.manufacturer', 'terminals.model', 'terminals.serial', 'stores.uuid', 'stores.name', 'merchants.customer_id'])
        .where('terminals.id', 'in', missing)
        .execute();
      for (const row of rows) {
        const ref = { id: formatTerminalId(row), customer_id: Number(row.customer_id), store: { uuid: row.uuid, name: row.name } };
        refs.set(Number(row.id), this.remember(Number(row.id), ref));
      }
    }
    return pks.map((pk) => {
      const ref = refs.get(pk);
      if (!ref) throw new Error(`terminal ${pk} is not registered`);
      return ref;
    });
  }

  /** Appends one event of `subject`, numbered one past its last, with its deliveries to the
   * endpoints of its customer subscribed to its type (the outbox: what a committed change is to
   * send is written by its own commit; on SQLite the insert's trigger makes the deliveries, as
   * migration 0010 says). Callers run it in the
   * database transaction of the change, which also orders the changes of one subject (a row lock,
   * or SQLite's write lock), so the numbers never collide; a unique index says so anyway. */
  async append(db: Executor, e: EventInput) {
    const id = newEventId();
    const event = sql`insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select cast(${id} as text), cast(${e.customer_id} as bigint), cast(${e.type} as text), cast(${e.subject} as text),
        coalesce(max(sequence), 0) + 1, cast(${JSON.stringify(e.data)} as text), cast(${e.at} as bigint), 1
      from events where subject = ${e.subject}`;
    await this.withDeliveries(event).execute(db);
  }

  /** `append` for events of distinct subjects, in one statement. */
  private async appendDistinct(db: Executor, events: EventInput[]) {
    if (events.length === 0) return;
    const rows = sql.join(
      events.map((e) => sql`(${newEventId()}, ${e.customer_id}, ${e.type}, ${e.subject}, ${JSON.stringify(e.data)}, ${e.at})`),
    );
    // VALUES columns are column1… in both dialects.
    const inserted = sql`insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select cast(v.column1 as text), cast(v.column2 as bigint), cast(v.column3 as text), cast(v.column4 as text),
        (select coalesce(max(sequence), 0) + 1 from events where subject = cast(v.column4 as text)), cast(v.column5 as text), cast(v.column6 as bigint), 1
      from (values ${rows}) as v`;
    await this.withDeliveries(inserted).execute(db);
  }

  /** An insert of events, with their deliveries: on PostgreSQL one round trip, the deliveries
   * reading the insert's RETURNING; on SQLite the insert alone, its trigger makes them. */
  private withDeliveries(insert: RawBuilder<unknown>) {
    return this.dialect === 'postgres' ? sql`with event as (${insert} returning id, customer_id, type, created_at) ${deliveriesOf(sql`event`)}` : insert;
  }

  /** Last-seen times, then the terminal.online and terminal.offline events they imply: online when
   * seen within the window after being offline (or never known), offline when nobody saw it for the
   * window. The times go first, autocommitted slices (in terminal order on PostgreSQL): no lock is
   * held past its statement, and the same order on every instance never deadlocks. The edges follow, a slice of
   * terminals per database transaction with their events; each edge is a compare-and-set on the
   * stored flag, so instances sharing the database write each event once. Between slices the
   * requests waiting meanwhile run: on SQLite every statement holds the event loop, and a fleet
   * coming online at once (10,000 edges) held it for half a second in one piece. */
  async recordLastSeen(seen: number[], seenAt: (id: number) => number, held: number[], now: number, windowMs: number): Promise<number> {
    const since = now - windowMs;
    const { times, edges } = PRESENCE_SLICES[this.dialect];
    // A fleet holding polls is seen at the flush's own moment: those terminals go as a list of ids
    // with that one time (`held`), the others each with its own. An id with its time made about 200
    // bytes of garbage per terminal at every flush: 2.1 MB every five seconds for 10,000 held polls,
    // most of what a process holding them allocated. The held list comes again as it was while the
    // same polls are held: its slices' text is made once (sorted where instances write the same
    // rows, see above; SQLite has one writer).
    let heldSlices = this.heldSlices.get(held);
    if (!heldSlices) {
      if (this.dialect === 'postgres') held.sort((a, b) => a - b);
      heldSlices = [];
      for (let i = 0; i < held.length; i += times) heldSlices.push(this.idsText(held.slice(i, i + times)));
      this.heldSlices.set(held, heldSlices);
    }
    for (const ids of heldSlices) {
      await this.writeSeen(ids, now);
      await yieldToRequests();
    }
    if (this.dialect === 'postgres') seen.sort((a, b) => a - b);
    for (let i = 0; i < seen.length; i += times) {
      await this.writeSeenEach(seen.slice(i, i + times), seenAt);
      await yieldToRequests();
    }
    // The edges to write, read without a lock: each is checked again where it is written.
    const flips = await this.db
      .selectFrom('terminal_presence')
      .select(['terminal_id', 'online'])
      .where((eb) => eb.or([eb.and([eb('online', '=', 0), eb('last_seen_at', '>=', since)]), eb.and([eb('online', '=', 1), eb('last_seen_at', '<', since)])]))
      .orderBy('terminal_id')
      .execute();
    let written = 0;
    for (const comingOnline of [true, false]) {
      const list = flips.filter((f) => (Number(f.online) === 0) === comingOnline).map((f) => Number(f.terminal_id));
      for (let i = 0; i < list.length; i += edges) {
        written += await this.writeEdges(list.slice(i, i + edges), comingOnline, since, now);
        await yieldToRequests();
      }
    }
    return written;
  }

  /** Ids as the text one statement of seen-times takes: an array literal, or JSON on SQLite. Two
   * parameters whatever the slice's size: building and binding 10,000 parameters held the event
   * loop for tens of milliseconds. */
  private idsText(ids: number[]): string {
    return this.dialect === 'postgres' ? arrayLiteral(ids) : JSON.stringify(ids);
  }

  /** One statement of seen-times, `at` for all of `ids` (idsText). */
  private writeSeen(ids: string, at: number) {
    return this.upsertSeen(
      this.dialect === 'postgres' ? sql`select unnest(cast(${ids} as bigint[])), cast(${at} as bigint)` : sql`select value, ${at} from json_each(${ids}) where true`,
    );
  }

  /** One statement of seen-times, each of `ids` at its own. */
  private writeSeenEach(ids: number[], at: (id: number) => number) {
    return this.upsertSeen(
      this.dialect === 'postgres'
        ? sql`select * from unnest(cast(${arrayLiteral(ids)} as bigint[]), cast(${arrayLiteral(ids.map(at))} as bigint[]))`
        : sql`select value ->> 0, value ->> 1 from json_each(${JSON.stringify(ids.map((id) => [id, at(id)]))}) where true`,
    );
  }

  private async upsertSeen(rows: RawBuilder<unknown>) {
    const upsert = sql`insert into terminal_presence (terminal_id, last_seen_at) ${rows}
      on conflict (terminal_id) do update set last_seen_at = excluded.last_seen_at
      where terminal_presence.last_seen_at < excluded.last_seen_at`;
    // On SQLite without an fsync of its own (on the API's thread, five a flush for 10,000
    // terminals): seen-times lost with the machine are seen again at the terminals' next polls.
    // The edges, with their events, stay durable.
    if (this.dialect === 'sqlite') await withoutOwnSync<Tables, unknown>(this.db, (tx) => upsert.execute(tx));
    else await upsert.execute(this.db);
  }

  /** Sets the online flag of those of `ids` still on the other side of the window, with an event for
   * each, in one database transaction. */
  private writeEdges(ids: number[], comingOnline: boolean, since: number, now: number): Promise<number> {
    const type = comingOnline ? 'terminal.online' : 'terminal.offline';
    return this.db.transaction().execute(async (tx) => {
      const changed = await tx
        .updateTable('terminal_presence')
        .set({ online: comingOnline ? 1 : 0 })
        .where('online', '=', comingOnline ? 0 : 1)
        .where('last_seen_at', comingOnline ? '>=' : '<', since)
        .where('terminal_id', 'in', ids)
        .returning(['terminal_id', 'last_seen_at'])
        .execute();
      if (changed.length === 0) return 0;
      const refs = await this.terminalRefs(changed.map((p) => Number(p.terminal_id)), tx);
      // Each terminal has one edge at most: one statement numbers them all.
      await this.appendDistinct(
        tx,
        changed.map((p, i) => {
          const ref = refs[i]!;
          const data = { terminal_id: ref.id, online: comingOnline, last_seen: new Date(Number(p.last_seen_at)).toISOString(), store: { uuid: ref.store.uuid, name: ref.store.name } };
          return { customer_id: ref.customer_id, type, subject: `terminal:${p.terminal_id}`, data, at: now };
        }),
      );
      return changed.length;
    });
  }

  private filtered(customerId: number, type?: string) {
    let q = this.db.selectFrom('events').where('customer_id', '=', customerId);
    if (type !== undefined) q = q.where('type', '=', type);
    return q;
  }

  /** One page of a customer's events from `horizon` on, newest first (their count: LogCounts). */
  page(customerId: number, type: string | undefined, horizon: number, offset: number, limit: number) {
    return this.filtered(customerId, type)
      .where('created_at', '>=', horizon)
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('sequence', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute()
      .then((rows) => rows.map(eventJson));
  }

  /** How many events of each type a customer has in each bucket of `created_at` in [from, to)
   * (TallySource). */
  async countsByBucket(customerId: number, from: number, to: number, bucketMs: number) {
    const { rows } = await sql<{ bucket: number; type: string; n: number }>`
      select cast(created_at / ${bucketMs} as integer) as bucket, type, count(*) as n from events
       where customer_id = ${customerId} and created_at >= ${from} and created_at < ${to}
       group by 1, 2`.execute(this.db);
    return rows.map((r) => ({ bucket: Number(r.bucket), type: r.type, n: Number(r.n) }));
  }

  /** How many events of `type` (every type: undefined) a customer has from `from` on. */
  async countFrom(customerId: number, type: EventType | undefined, from: number) {
    const row = await this.filtered(customerId, type).where('created_at', '>=', from).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async find(customerId: number, id: string) {
    const row = await this.db.selectFrom('events').selectAll().where('id', '=', id).where('customer_id', '=', customerId).executeTakeFirst();
    return row ? eventJson(row) : undefined;
  }

  /** Forgets what is older than `before`: events, their deliveries and the attempts. */
  async deleteOlderThan(before: number, slice = RETENTION_SLICE) {
    const sweep = (table: LogTable, column: string) =>
      this.dialect === 'sqlite' ? deleteFirstOlderInSlices(this.db, table, column, before, slice) : deleteOlderInSlices(this.db, table, ['id'], column, before, slice);
    await sweep('webhook_attempts', 'at');
    await sweep('webhook_deliveries', 'created_at');
    await sweep('events', 'created_at');
  }
}

/** PostgreSQL's statement that makes the deliveries of the events `events` yields (id,
 * customer_id, type, created_at): one per endpoint of the event's customer subscribed to its type
 * (`events` null: every type), due at once. SQLite's trigger (migration 0010) does the same. */
export function deliveriesOf(events: RawBuilder<unknown>) {
  return sql`insert into webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, lease_until, created_at)
    select e.id, w.id, 'PENDING', 0, e.created_at, null, e.created_at
      from ${events} e join webhook_endpoints w on w.customer_id = e.customer_id
     where w.events is null or w.events::jsonb @> jsonb_build_array(e.type::text)`;
}
