import { sql, type RawBuilder } from 'kysely';
import { compiledPerShape } from '../db/compiled-once.js';
import { deliveriesOf } from '../db/event-repository.js';
import type { Executor } from '../db/executor.js';
import type { Transaction, TransactionChanges } from '../domain/transaction.js';
import type { TransitionPlan } from '../domain/transaction-lifecycle.js';
import type { TransactionEventRecord } from '../webhooks/outbox.js';

/** Moves a transaction on PostgreSQL in one autocommitted statement (one round trip, one commit):
 * the compare-and-set on its current status and stage, its event row, and the customer's event
 * (the outbox) numbered one past the subject's last, with its deliveries, all only if the
 * compare-and-set took the row. True: moved; false: another writer moved it first (nothing
 * written). The life-cycle's states, results and reasons are fixed words and go in as literals
 * (one prepared statement per kind of move); what varies is bound.
 *
 * The event's number is read with the statement's snapshot. A writer that committed a change of
 * the same transaction after that snapshot without changing its state (the compare-and-set, after
 * waiting for its lock, still holds) and wrote an event would make the number collide: the unique
 * index refuses the statement as a whole, and the caller moves it the long way, in a transaction. */
export async function moveInOneStatement(
  db: Executor,
  t: Pick<Transaction, 'id'>,
  plan: TransitionPlan,
  next: Pick<Transaction, 'result' | 'cancel_reason'>,
  changes: TransactionChanges,
  at: number,
  detail: string | null,
  event: TransactionEventRecord | undefined,
): Promise<boolean> {
  const columns = (Object.keys(changes) as Array<keyof TransactionChanges>).filter((c) => changes[c] !== undefined).sort();
  const shape: Shape = { plan, result: next.result ?? null, cancel_reason: next.cancel_reason ?? null, columns, event: event !== undefined };
  const values: unknown[] = [t.id, at, detail, ...columns.map((c) => changes[c])];
  if (event) values.push(event.id, event.customer_id, event.type, event.subject, event.data);
  const rows = await statementOf(keyOf(shape), shape, db)(db, ...values);
  return rows[0]!.moved === 1;
}

/** What makes one move's text differ from another's: the life-cycle's words, which columns it
 * changes, and whether it writes a customer event. */
interface Shape {
  plan: TransitionPlan;
  result: string | null;
  cancel_reason: string | null;
  columns: Array<keyof TransactionChanges>;
  event: boolean;
}

/** Each kind of move's statement, built and compiled by Kysely once (about 10 µs a move, measured
 * apart, warm, against 2 µs to bind); a call binds its own values. */
const statementOf = compiledPerShape(moveStatement);

const keyOf = ({ plan, result, cancel_reason, columns, event }: Shape) =>
  JSON.stringify([plan.actor, plan.event, plan.from, plan.to, result, cancel_reason, columns, event]);

/** The text of `shape`'s move, with `v` where its values go: the id, the time, the detail, the
 * changed columns' values in `shape.columns`' order, then the event's five fields. */
function moveStatement(shape: Shape, v: unknown[]) {
  const { plan } = shape;
  const [id, at, detail] = v;
  const lit = (value: string | null | undefined) => sql.lit(value ?? null);
  const set: RawBuilder<unknown>[] = [
    sql`status = ${lit(plan.to.status)}`,
    sql`stage = ${lit(plan.to.stage)}`,
    sql`result = ${lit(shape.result)}`,
    sql`cancel_reason = ${lit(shape.cancel_reason)}`,
    sql`updated_at = ${at}::bigint`,
  ];
  shape.columns.forEach((column, i) => set.push(sql`${sql.ref(column)} = ${v[3 + i]}`));
  const [eventId, customerId, type, subject, data] = v.slice(3 + shape.columns.length);
  const outbox = shape.event
    ? sql`, outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${eventId}::text, ${customerId}::bigint, ${type}::text, ${subject}::text,
             (select coalesce(max(sequence), 0) + 1 from events where subject = ${subject}::text), ${data}::text, ${at}::bigint, 1
        from moved
      returning id, customer_id, type, created_at
    ), deliveries as (
      ${deliveriesOf(sql`outbox`)}
    )`
    : sql``;
  return sql<{ moved: number }>`
    with moved as (
      update transactions set ${sql.join(set)}
       where id = ${id}::text and status = ${lit(plan.from.status)} and stage = ${lit(plan.from.stage)}
      returning id
    ), history as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${at}::bigint, ${lit(plan.actor)}, ${lit(plan.event)}, ${lit(plan.from.status)}, ${lit(plan.from.stage)},
             ${lit(plan.to.status)}, ${lit(plan.to.stage)}, ${detail}::text
        from moved
    )${outbox}
    select count(*)::int as moved from moved`;
}
