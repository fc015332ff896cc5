import { sql } from 'kysely';
import { deliveriesOf } from '../db/event-repository.js';
import { compiledPerShape } from '../db/compiled-once.js';
import type { Executor } from '../db/executor.js';
import type { TransactionRow } from '../db/schema.js';
import type { TransactionEventRecord } from '../webhooks/outbox.js';
import type { OneStatementCreation } from './create-statement.js';

/** One plain creation of a batch: a new transaction, written as created, with its customer's
 * event (the outbox) if the platform writes one. */
export interface BatchedCreation {
  row: TransactionRow;
  event?: TransactionEventRecord;
}

/** What decides a batch's statement text: every creation of a batch shares it. */
export interface BatchShape {
  status: string;
  stage: string;
  event: boolean;
}

/** Plain creations of different terminals (at most one each), all of `shape`, in one autocommitted
 * statement on PostgreSQL: one round trip, one plan started and ended, one commit for all of them.
 * An event's customer is its transaction's, as every creation's is.
 * Each is what `createInOneStatement` does for it alone without superseding: its terminal locked
 * (FOR NO KEY UPDATE), the new transaction with its CREATE history row, its customer's event and
 * that event's deliveries written only if the terminal exists and has no open transaction; else
 * the open one is answered, as the statement alone answers it. The terminals are locked in their
 * order, as every batch locks them, so two batches never wait for each other in a circle. Each
 * lookup is by its key, a nested loop over the batch: no plan made while a table was small can
 * read a table whole later. A creator of one of the terminals that commits after the statement's
 * snapshot makes the whole statement fail on the unique index of a terminal's open transaction,
 * and nothing of it is written; the caller then creates each alone. */
export async function createManyInOneStatement(db: Executor, shape: BatchShape, creations: BatchedCreation[]): Promise<OneStatementCreation[]> {
  const sorted = [...creations].sort((a, b) => a.row.terminal_id - b.row.terminal_id);
  const col = <T>(pick: (c: BatchedCreation) => T) => sorted.map(pick);
  const values: unknown[] = [
    col((c) => c.row.id),
    col((c) => c.row.terminal_id),
    col((c) => c.row.customer_id),
    col((c) => c.row.type),
    col((c) => c.row.merchant_order_reference),
    col((c) => c.row.amount_minor),
    col((c) => c.row.currency),
    col((c) => c.row.reference_id),
    col((c) => c.row.created_at),
    col((c) => c.row.expires_at),
    ...(shape.event ? [col((c) => c.event!.id), col((c) => c.event!.type), col((c) => c.event!.subject), col((c) => c.event!.data)] : []),
  ];
  const rows = await statementOf(JSON.stringify(shape), shape, db)(db, ...values);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return creations.map((c) => {
    const r = byId.get(c.row.id);
    if (!r) throw new Error(`the batched creation answered nothing for ${c.row.id}`);
    return {
      created: r.created,
      active: r.active_id === null || r.active_row === null ? undefined : { id: r.active_id, stage: r.active_stage ?? '', superseded: false, row: r.active_row },
    };
  });
}

type BatchRow = { id: string; created: boolean; active_id: string | null; active_stage: string | null; active_row: TransactionRow | null };

const statementOf = compiledPerShape((shape: BatchShape, v: unknown[]) => batchStatement(shape, v));

function batchStatement(shape: BatchShape, v: unknown[]) {
  const status = sql.lit(shape.status);
  const stage = sql.lit(shape.stage);
  return sql<BatchRow>`
    with input as (
      select * from unnest(${v[0]}::text[], ${v[1]}::bigint[], ${v[2]}::bigint[], ${v[3]}::text[], ${v[4]}::text[], ${v[5]}::bigint[],
                           ${v[6]}::text[], ${v[7]}::text[], ${v[8]}::bigint[], ${v[9]}::bigint[]${
                             shape.event ? sql`, ${v[10]}::text[], ${v[11]}::text[], ${v[12]}::text[], ${v[13]}::text[]` : sql``
                           })
        as i(id, terminal_id, customer_id, type, merchant_order_reference, amount_minor, currency, reference_id, created_at, expires_at${
          shape.event ? sql`, event_id, event_type, event_subject, event_data` : sql``
        })
    ), terminal as (
      select t.id from input i cross join lateral (select id from terminals where id = i.terminal_id for no key update) t
    ), active as (
      select a.terminal_id, a.id, a.stage from terminal t
        cross join lateral (select terminal_id, id, stage from transactions where terminal_id = t.id and stage <> 'DONE' for update) a
    ), inserted as (
      insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference,
                                amount_minor, currency, reference_id, created_at, expires_at, updated_at)
      select i.id, i.customer_id, i.terminal_id, i.type, ${status}, ${stage}, i.merchant_order_reference,
             i.amount_minor, i.currency, i.reference_id, i.created_at, i.expires_at, i.created_at
        from input i
       where i.terminal_id in (select id from terminal) and i.terminal_id not in (select terminal_id from active)
      returning id, created_at
    ), created_event as (
      insert into transaction_events (transaction_id, at, actor, event, from_status, from_stage, to_status, to_stage, detail)
      select id, created_at, 'CUSTOMER', 'CREATE', null, null, ${status}, ${stage}, null from inserted
    )${
      shape.event
        ? sql`, created_outbox as (
      insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select i.event_id, i.customer_id, i.event_type, i.event_subject, 1, i.event_data, i.created_at, 1
        from input i where i.id in (select id from inserted)
      returning id, customer_id, type, created_at
    ), created_deliveries as (
      ${deliveriesOf(sql`created_outbox`)}
    )`
        : sql``
    }
    select i.id, i.id in (select id from inserted) as created, a.id as active_id, a.stage as active_stage,
           case when a.id is null then null else (select to_jsonb(x) from transactions x where x.id = a.id) end as active_row
      from input i left join active a on a.terminal_id = i.terminal_id`;
}

/** How many creation statements run at once, at most; the pool keeps its other connections for
 * the rest (lookups, moves, the webhooks). */
const CONCURRENCY = 2;
/** The most creations one statement writes. */
const MAX_BATCH = 64;

interface Asked {
  creation: BatchedCreation;
  shape: BatchShape;
  /** `shape` as text: creations of one key share a statement */
  key: string;
  resolve: (done: OneStatementCreation) => void;
  reject: (e: unknown) => void;
}

/** Plain creations on PostgreSQL, written together when they pile up, as `BatchedReads` reads: one
 * asked while fewer than CONCURRENCY creation statements run goes at once, alone (`alone`, the
 * statement of one creation), so no creation waits for a batch to fill. Those asked meanwhile wait
 * for a statement to end and go together in the next, one per shape and terminal. One terminal's
 * creations go one statement after another, in the order they were asked, so a second never races
 * its first. A batch that fails (another creator of one of its terminals committed first, or
 * anything else) has written nothing, and each of its creations goes again alone, where it ends as
 * it would have alone. */
export class CreationBatches {
  private waiting: Asked[] = [];
  private running = 0;
  /** The terminals of the creations being written. */
  private readonly writing = new Set<number>();

  constructor(
    private readonly db: Executor,
    private readonly alone: (creation: BatchedCreation) => Promise<OneStatementCreation>,
  ) {}

  create(creation: BatchedCreation): Promise<OneStatementCreation> {
    return new Promise((resolve, reject) => {
      const shape: BatchShape = { status: creation.row.status, stage: creation.row.stage, event: creation.event !== undefined };
      this.waiting.push({ creation, shape, key: JSON.stringify(shape), resolve, reject });
      this.next();
    });
  }

  private next() {
    while (this.running < CONCURRENCY) {
      const batch = this.take();
      if (batch.length === 0) return;
      const terminals = batch.map((a) => a.creation.row.terminal_id);
      for (const t of terminals) this.writing.add(t);
      this.running++;
      this.run(batch).finally(() => {
        for (const t of terminals) this.writing.delete(t);
        this.running--;
        this.next();
      });
    }
  }

  /** The oldest waiting creation whose terminal is not being written, and those after it of its
   * shape and other such terminals; a terminal's later creation stays behind its earlier one. */
  private take(): Asked[] {
    const passed = new Set<number>();
    const batch: Asked[] = [];
    const rest: Asked[] = [];
    for (const asked of this.waiting) {
      const terminal = asked.creation.row.terminal_id;
      const free = !this.writing.has(terminal) && !passed.has(terminal);
      passed.add(terminal);
      if (free && batch.length < MAX_BATCH && (batch.length === 0 || asked.key === batch[0]!.key)) batch.push(asked);
      else rest.push(asked);
    }
    this.waiting = rest;
    return batch;
  }

  private async run(batch: Asked[]) {
    if (batch.length > 1) {
      try {
        const done = await createManyInOneStatement(this.db, batch[0]!.shape, batch.map((a) => a.creation));
        batch.forEach((a, i) => a.resolve(done[i]!));
        return;
      } catch {
        // Nothing was written: each goes alone below, and fails there if it fails alone.
      }
    }
    await Promise.all(batch.map((a) => this.alone(a.creation).then(a.resolve, a.reject)));
  }
}
