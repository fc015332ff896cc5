import { sql, type Kysely } from 'kysely';
import { TRANSITIONS, type TransitionPlan } from '../domain/transaction-lifecycle.js';
import { deliveriesOf } from '../db/event-repository.js';
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
 * if nothing open is left in its way. The insert reads the move's result, so PostgreSQL runs the
 * move first; a creator that committed after this statement's snapshot (it waited for that
 * creator's lock) is met by the unique index on the terminal's open transaction, and the caller
 * runs the statement again with a fresh snapshot. */
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
  // The state the row is written in: as created, or already moved on.
  const stored = retrieved?.plan.to ?? { status: row.status, stage: row.stage };
  const second = retrieved?.event;
  const now = row.created_at;
  const lit = (v: string | undefined) => sql.lit(v ?? null);
  const result = await sql<{ created: number; active_id: string | null; active_stage: string | null; active_row: TransactionRow | null; moved: number }>`
    with terminal as (
      select id from terminals where id = ${row.terminal_id}::bigint for no key update
    ), active as (
      select id, stage, expires_at <= ${now}::bigint as expired from transactions
       where terminal_id = ${row.terminal_id}::bigint and stage <> 'DONE' and exists (select 1 from terminal)
       for update
    ), moved as (
      update transactions t
         set status = ${lit(TO.status)}, stage = ${lit(TO.stage)}, updated_at = ${now}::bigint,
             cancel_reason = case when a.expired then ${lit(EXPIRE.cancel_reason)} else ${lit(SUPERSEDE.cancel_reason)} end
        from active a
       where t.id = a.id and t.status = ${lit(FROM.status)} and t.stage = ${lit(FROM.stage)} and ${sql.lit(options.supersede)}
         and ${superseding ? sql`t.id = ${superseding.id}::text` : sql.lit(true)}
      returning t.id, a.expired
    ), ${superseding ? sql`moved_outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${superseding.event.id}::text, ${superseding.event.customer_id}::bigint, ${superseding.event.type}::text, ${superseding.event.subject}::text,
             (select coalesce(max(sequence), 0) + 1 from events where subject = ${superseding.event.subject}::text), ${superseding.event.data}::text, ${now}::bigint, 1
        from moved
      returning id, customer_id, type, created_at
    ), moved_deliveries as (
      ${deliveriesOf('postgres', sql`moved_outbox`)}
    ), ` : sql``}moved_event as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${now}::bigint, ${lit(SUPERSEDE.actor)}, case when expired then 'EXPIRE' else 'SUPERSEDE' end,
             ${lit(FROM.status)}, ${lit(FROM.stage)}, ${lit(TO.status)}, ${lit(TO.stage)},
             case when expired then ${lit(EXPIRE.cancel_reason)} else ${supersededBy}::text end
        from moved
    ), inserted as (
      insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference,
                                amount_minor, currency, reference_id, created_at, expires_at, updated_at)
      select ${row.id}::text, ${row.customer_id}::bigint, ${row.terminal_id}::bigint, ${row.type}::text, ${lit(stored.status)}, ${lit(stored.stage)},
             ${row.merchant_order_reference}::text, ${row.amount_minor}::bigint, ${row.currency}::text, ${row.reference_id}::text,
             ${now}::bigint, ${row.expires_at}::bigint, ${now}::bigint
       where (select count(*) from moved) = (select count(*) from active)
      returning id
    ), created_event as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${now}::bigint, 'CUSTOMER', 'CREATE', null, null, ${lit(row.status)}, ${lit(row.stage)}, null from inserted${
        retrieved
          ? sql`
      union all
      select id, ${now}::bigint, ${lit(retrieved.plan.actor)}, ${lit(retrieved.plan.event)}, ${lit(retrieved.plan.from.status)}, ${lit(retrieved.plan.from.stage)},
             ${lit(retrieved.plan.to.status)}, ${lit(retrieved.plan.to.stage)}, null from inserted`
          : sql``
      }
    ), created_outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${event?.id ?? null}::text, ${event?.customer_id ?? null}::bigint, ${event?.type ?? null}::text, ${event?.subject ?? null}::text,
             1, ${event?.data ?? null}::text, ${now}::bigint, 1
        from inserted where ${sql.lit(event !== undefined)}${
          second
            ? sql`
      union all
      select ${second.id}::text, ${second.customer_id}::bigint, ${second.type}::text, ${second.subject}::text, 2, ${second.data}::text, ${now}::bigint, 1
        from inserted`
            : sql``
        }
      returning id, customer_id, type, created_at
    ), created_deliveries as (
      ${deliveriesOf('postgres', sql`created_outbox`)}
    )
    select (select count(*) from inserted)::int as created, (select count(*) from moved)::int as moved,
           (select id from active limit 1) as active_id, (select stage from active limit 1) as active_stage,
           (select to_jsonb(x) from transactions x where x.id = (select id from active limit 1)) as active_row`.execute(db);
  const r = result.rows[0]!;
  return {
    created: r.created === 1,
    active: r.active_id === null || r.active_row === null ? undefined : { id: r.active_id, stage: r.active_stage ?? '', superseded: r.moved === 1, row: r.active_row },
  };
}
