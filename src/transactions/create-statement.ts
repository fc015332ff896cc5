import { sql, type Kysely } from 'kysely';
import { TRANSITIONS, type TransitionPlan } from '../domain/transaction-lifecycle.js';
import { deliveriesOf } from '../db/event-repository.js';
import { compiledPerShape } from '../db/compiled-once.js';
import type { Executor } from '../db/executor.js';
import type { Tables, TransactionRow } from '../db/schema.js';
import type { TransactionEventRecord } from '../webhooks/outbox.js';

/** What the one statement found and did: the open transaction it met (if any), whether that one
 * gave way, and whether the new one was written. */
export interface OneStatementCreation {
  created: boolean;
  /** with its whole row as the statement read it (the superseded one's customer event is made of it) */
  active: { id: string; stage: string; superseded: boolean; row: TransactionRow } | undefined;
}

const { SUPERSEDE, EXPIRE } = TRANSITIONS;
// Both moves leave PENDING for the same state; only the reason and the event differ.
const FROM = SUPERSEDE.from[0]!;
const TO = SUPERSEDE.to;
if (EXPIRE.from.length !== 1 || EXPIRE.from[0] !== FROM || EXPIRE.to !== TO || EXPIRE.actor !== SUPERSEDE.actor) {
  throw new Error('the one-statement creation assumes SUPERSEDE and EXPIRE move alike');
}

/** Creates a transaction on PostgreSQL in one autocommitted statement (one round trip): it locks
 * the terminal (FOR NO KEY UPDATE, as every creation does, so creators of one terminal take turns)
 * and its open transaction, moves that one by the life-cycle table's SUPERSEDE (or EXPIRE, past
 * its expiry) when the terminal has not fetched it, records that event, and inserts the new
 * transaction with its CREATE event and its customer's event with that event's deliveries, only
 * if nothing open is left in its way and the terminal exists (no foreign key checks that). The
 * insert reads the move's result, so PostgreSQL runs the move first; a creator that committed
 * after this statement's snapshot (it waited for that creator's lock) is met by the unique index
 * on the terminal's open transaction, and the caller runs the statement again with a fresh
 * snapshot. */
export async function createInOneStatement(
  db: Executor | Kysely<Tables>,
  row: TransactionRow,
  options: {
    supersededBy: string;
    /** false: an open transaction is left as it is, and nothing is written (the caller supersedes
     * it another way: its customer's event needs the whole row) */
    supersede: boolean;
    /** the new transaction's customer event (the outbox), written in the same statement */
    event?: TransactionEventRecord;
    /** with `supersede`: the open transaction the caller read and the customer event of its move;
     * any other open transaction is left as it is (and nothing is written) */
    superseding?: { id: string; event: TransactionEventRecord };
    /** the new transaction moves on at once by `plan` (RETRIEVE: a poll waits for it), recorded as
     * a second event row and, with `event`, its customer's second event */
    retrieved?: { plan: TransitionPlan; event?: TransactionEventRecord };
  },
): Promise<OneStatementCreation> {
  const { supersededBy, event, superseding, retrieved } = options;
  const second = retrieved?.event;
  const shape: Shape = {
    supersede: options.supersede,
    superseding: superseding !== undefined,
    event: event !== undefined,
    second: second !== undefined,
    status: row.status,
    stage: row.stage,
    ...(retrieved && { retrieved: retrieved.plan }),
  };
  // The values, named, in the order the shape's statement takes them.
  const values: Array<[ValueName, unknown]> = [
    ['terminal_id', row.terminal_id],
    ['now', row.created_at],
    // Only a statement that supersedes names it (its move's history row).
    ...(options.supersede ? [['superseded_by', supersededBy] as [ValueName, unknown]] : []),
    ['id', row.id],
    ['customer_id', row.customer_id],
    ['type', row.type],
    ['merchant_order_reference', row.merchant_order_reference],
    ['amount_minor', row.amount_minor],
    ['currency', row.currency],
    ['reference_id', row.reference_id],
    ['expires_at', row.expires_at],
    ...(superseding ? [['superseding_id', superseding.id] as [ValueName, unknown], ...eventValues('superseding_event', superseding.event)] : []),
    ...(event ? eventValues('event', event) : []),
    ...(second ? eventValues('second', second) : []),
  ];
  const [r] = await statementOf(JSON.stringify(shape), { shape, values }, db)(db, ...values.map(([, value]) => value));
  return {
    created: r!.created === 1,
    active: r!.active_id === null || r!.active_row === null ? undefined : { id: r!.active_id, stage: r!.active_stage ?? '', superseded: r!.moved === 1, row: r!.active_row },
  };
}

/** What decides a creation statement's text: everything but its values. */
interface Shape {
  supersede: boolean;
  superseding: boolean;
  event: boolean;
  second: boolean;
  status: string;
  stage: string;
  retrieved?: TransitionPlan;
}

type EventPrefix = 'superseding_event' | 'event' | 'second';
type EventValueName = `${EventPrefix}_${'id' | 'customer_id' | 'type' | 'subject' | 'data'}`;
type ValueName =
  | 'terminal_id' | 'now' | 'superseded_by' | 'id' | 'customer_id' | 'type' | 'merchant_order_reference'
  | 'amount_minor' | 'currency' | 'reference_id' | 'expires_at' | 'superseding_id' | EventValueName;
type Values = Partial<Record<ValueName, unknown>>;

const eventValues = (prefix: EventPrefix, e: TransactionEventRecord) =>
  (['id', 'customer_id', 'type', 'subject', 'data'] as const).map((f): [ValueName, unknown] => [`${prefix}_${f}`, e[f]]);

type CreationRow = { created: number; active_id: string | null; active_stage: string | null; active_row: TransactionRow | null; moved: number };

/** Each shape's statement, built and compiled by Kysely once; a call binds its own values. Building
 * and compiling the largest text the platform sends took 13 µs per creation (measured apart, warm),
 * against about 1 µs for the shape's key and the values, and the driver then finds its prepared
 * statement by a string whose hash is already known. The markers take the names of `values`. */
const statementOf = compiledPerShape(({ shape, values }: { shape: Shape; values: Array<[ValueName, unknown]> }, markers) =>
  creationStatement(shape, Object.fromEntries(values.map(([name], i) => [name, markers[i]])) as Values),
);

const lit = (value: string | undefined) => sql.lit(value ?? null);

/** The text of `shape`'s statement, with `v` where its values go. The move finds the open
 * transaction by the ctid `active` locked (at most one: the unique index), not by joining `active`:
 * PostgreSQL keeps one plan per prepared statement, and the join's plan, made while the table was
 * small (a new database, before its first ANALYZE), read every pending transaction by the pending
 * index on every creation afterwards: 4–5 ms a creation with 6,000 pending. A scan by ctid costs
 * the same at any size, so no plan can be cheaper at first and dearer later. */
function creationStatement(shape: Shape, v: Values) {
  const retrieved = shape.retrieved;
  // The state the row is written in: as created, or already moved on.
  const stored = retrieved?.to ?? { status: shape.status, stage: shape.stage };
  return sql<CreationRow>`
    with terminal as (
      select id from terminals where id = ${v.terminal_id}::bigint for no key update
    ), active as (
      select id, ctid, stage, expires_at <= ${v.now}::bigint as expired from transactions
       where terminal_id = ${v.terminal_id}::bigint and stage <> 'DONE' and exists (select 1 from terminal)
       for update
    )${shape.supersede ? sql`, ${moveOfActive(shape, v)}` : sql``}, inserted as (
      insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference,
                                amount_minor, currency, reference_id, created_at, expires_at, updated_at)
      select ${v.id}::text, ${v.customer_id}::bigint, ${v.terminal_id}::bigint, ${v.type}::text, ${lit(stored.status)}, ${lit(stored.stage)},
             ${v.merchant_order_reference}::text, ${v.amount_minor}::bigint, ${v.currency}::text, ${v.reference_id}::text,
             ${v.now}::bigint, ${v.expires_at}::bigint, ${v.now}::bigint
       where ${shape.supersede ? sql`(select count(*) from moved) = (select count(*) from active)` : sql`not exists (select 1 from active)`} and exists (select 1 from terminal)
      returning id
    ), created_event as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${v.now}::bigint, 'CUSTOMER', 'CREATE', null, null, ${lit(shape.status)}, ${lit(shape.stage)}, null from inserted${
        retrieved
          ? sql`
      union all
      select id, ${v.now}::bigint, ${lit(retrieved.actor)}, ${lit(retrieved.event)}, ${lit(retrieved.from.status)}, ${lit(retrieved.from.stage)},
             ${lit(retrieved.to.status)}, ${lit(retrieved.to.stage)}, null from inserted`
          : sql``
      }
    ), created_outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${v.event_id ?? null}::text, ${v.event_customer_id ?? null}::bigint, ${v.event_type ?? null}::text, ${v.event_subject ?? null}::text,
             1, ${v.event_data ?? null}::text, ${v.now}::bigint, 1
        from inserted where ${sql.lit(shape.event)}${
          shape.second
            ? sql`
      union all
      select ${v.second_id}::text, ${v.second_customer_id}::bigint, ${v.second_type}::text, ${v.second_subject}::text, 2, ${v.second_data}::text, ${v.now}::bigint, 1
        from inserted`
            : sql``
        }
      returning id, customer_id, type, created_at
    ), created_deliveries as (
      ${deliveriesOf(sql`created_outbox`)}
    )
    select (select count(*) from inserted)::int as created, ${shape.supersede ? sql`(select count(*) from moved)::int` : sql`0`} as moved,
           (select id from active limit 1) as active_id, (select stage from active limit 1) as active_stage,
           (select to_jsonb(x) from transactions x where x.id = (select id from active limit 1)) as active_row`;
}

/** The move of the open transaction `active` locked, with its history row (and, superseding, its
 * customer's event and that event's deliveries): left out of the text of a creation that does not
 * supersede, whose plan then has none of its nodes to start and end on every call. */
function moveOfActive(shape: Shape, v: Values) {
  return sql`moved as (
      update transactions t
         set status = ${lit(TO.status)}, stage = ${lit(TO.stage)}, updated_at = ${v.now}::bigint,
             cancel_reason = case when (select expired from active) then ${lit(EXPIRE.cancel_reason)} else ${lit(SUPERSEDE.cancel_reason)} end
       where t.ctid = (select ctid from active) and t.status = ${lit(FROM.status)} and t.stage = ${lit(FROM.stage)}
         and ${shape.superseding ? sql`t.id = ${v.superseding_id}::text` : sql.lit(true)}
      returning t.id, (select expired from active) as expired
    ), ${shape.superseding ? sql`moved_outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${v.superseding_event_id}::text, ${v.superseding_event_customer_id}::bigint, ${v.superseding_event_type}::text, ${v.superseding_event_subject}::text,
             (select coalesce(max(sequence), 0) + 1 from events where subject = ${v.superseding_event_subject}::text), ${v.superseding_event_data}::text, ${v.now}::bigint, 1
        from moved
      returning id, customer_id, type, created_at
    ), moved_deliveries as (
      ${deliveriesOf(sql`moved_outbox`)}
    ), ` : sql``}moved_event as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${v.now}::bigint, ${lit(SUPERSEDE.actor)}, case when expired then 'EXPIRE' else 'SUPERSEDE' end,
             ${lit(FROM.status)}, ${lit(FROM.stage)}, ${lit(TO.status)}, ${lit(TO.stage)},
             case when expired then ${lit(EXPIRE.cancel_reason)} else ${v.superseded_by}::text end
        from moved
    )`;
}
