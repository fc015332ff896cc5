import { sql, type RawBuilder } from 'kysely';
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
  const lit = (v: string | null | undefined) => sql.lit(v ?? null);
  const set: RawBuilder<unknown>[] = [
    sql`status = ${lit(plan.to.status)}`,
    sql`stage = ${lit(plan.to.stage)}`,
    sql`result = ${lit(next.result)}`,
    sql`cancel_reason = ${lit(next.cancel_reason)}`,
    sql`updated_at = ${at}::bigint`,
  ];
  for (const [column, value] of Object.entries(changes)) if (value !== undefined) set.push(sql`${sql.ref(column)} = ${value}`);
  const outbox = event
    ? sql`, outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select ${event.id}::text, ${event.customer_id}::bigint, ${event.type}::text, ${event.subject}::text,
             (select coalesce(max(sequence), 0) + 1 from events where subject = ${event.subject}::text), ${event.data}::text, ${at}::bigint, 1
        from moved
      returning id, customer_id, type, created_at
    ), deliveries as (
      ${deliveriesOf(sql`outbox`)}
    )`
    : sql``;
  const result = await sql<{ moved: number }>`
    with moved as (
      update transactions set ${sql.join(set)}
       where id = ${t.id}::text and status = ${lit(plan.from.status)} and stage = ${lit(plan.from.stage)}
      returning id
    ), history as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, ${at}::bigint, ${lit(plan.actor)}, ${lit(plan.event)}, ${lit(plan.from.status)}, ${lit(plan.from.stage)},
             ${lit(plan.to.status)}, ${lit(plan.to.stage)}, ${detail}::text
        from moved
    )${outbox}
    select count(*)::int as moved from moved`.execute(db);
  return result.rows[0]!.moved === 1;
}
