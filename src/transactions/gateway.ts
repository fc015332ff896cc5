import type { ErrorKind } from '../domain/errors.js';
import { err, ok, type Result } from '../domain/result.js';
import type { Terminal } from '../domain/terminal.js';
import type { Transaction, TransactionChanges } from '../domain/transaction.js';
import { apply, INITIAL_STATE, TRANSITIONS, type LifecycleEvent, type PublicStatus, type TransactionType, type TransitionPlan } from '../domain/transaction-lifecycle.js';
import { isUniqueViolation, type Database } from '../db/database.js';
import { compiledInsert } from '../db/compiled-once.js';
import type { Executor } from '../db/executor.js';
import type { TransactionRow } from '../db/schema.js';
import type { TransactionEventOf, TransactionEventRecord, TransactionOutbox } from '../webhooks/outbox.js';
import { CreationBatches } from './create-batch.js';
import { createInOneStatement } from './create-statement.js';
import { moveInOneStatement } from './move-statement.js';
import type { TransactionQueries } from './transaction-queries.js';
import { firstTransaction, newTransactionRow, toTransaction, type NewTransaction } from './transaction-row.js';

/** What a creation decides before its transaction is written: the referenced purchase, if any,
 * locked, with what its approved and in-flight refunds already take. */
export interface CreationContext {
  purchase: Transaction | undefined;
  refunded_minor: number;
}

export type { NewTransaction };

/** Hears, after the commit, of each transaction this gateway brought to a public status: a new one
 * to its first, a move that changes the status to the new one. */
export type StatusReached = (type: TransactionType, status: PublicStatus) => void;

/** How often a creation on PostgreSQL meets a creator that committed first before it gives up. */
const CREATE_ATTEMPTS = 10;

/** Every column of a transaction's row (the compiler checks the list is whole), and of its history's. */
const TRANSACTION_COLUMNS = Object.keys({
  id: 1, customer_id: 1, terminal_id: 1, type: 1, status: 1, stage: 1, result: 1, cancel_reason: 1, merchant_order_reference: 1,
  amount_minor: 1, currency: 1, reference_id: 1, captured_minor: 1, captured_at: 1, brand: 1, card_last4: 1, entry_mode: 1,
  stan: 1, authorization_code: 1, receipt: 1, merchant_receipt: 1, acquirer_reference: 1, outcome_hash: 1, created_at: 1,
  expires_at: 1, transaction_at: 1, updated_at: 1,
} satisfies Record<keyof TransactionRow, 1>) as Array<keyof TransactionRow>;
const EVENT_COLUMNS = ['transaction_id', 'at', 'actor', 'event', 'from_status', 'from_stage', 'to_status', 'to_stage', 'detail'] as const;

/** The only code that writes the transactions table. A move is an event applied through the
 * life-cycle table (`apply`), run as a compare-and-set on the current status and stage, and
 * recorded as an event row, with the customer's event (the outbox), in the same database
 * transaction; `changed` hears of it after the commit. Locking is PostgreSQL's row locks; a
 * SQLite transaction holds the database's write lock from its start. */
export class TransactionGateway {
  private readonly db: Executor;
  private readonly lockRows: boolean;
  /** The inserts of every creation and every move, compiled once. */
  private readonly insertTransaction: ReturnType<typeof compiledInsert<'transactions'>>;
  private readonly insertEvent: ReturnType<typeof compiledInsert<'transaction_events'>>;
  /** PostgreSQL's plain creations (nothing to supersede, no poll waiting here), written together when they pile up. */
  private readonly batches: CreationBatches;

  /** `changed` hears of every transaction this gateway moved or superseded, after the commit;
   * `reached`, of every public status a transaction came to (the metrics count them). */
  constructor(
    database: Database,
    /** the reads its moves start from and look again with */
    private readonly queries: TransactionQueries,
    private readonly outbox?: TransactionOutbox,
    private readonly changed: (t: Pick<Transaction, 'id' | 'terminal_pk'>) => void = () => {},
    /** the customer's event of a creation, for the statement that writes it (with `outbox`) */
    private readonly eventOf?: TransactionEventOf,
    private readonly reached: StatusReached = () => {},
  ) {
    this.db = database.db;
    this.lockRows = database.dialect === 'postgres';
    this.insertTransaction = compiledInsert(this.db, 'transactions', TRANSACTION_COLUMNS);
    this.insertEvent = compiledInsert(this.db, 'transaction_events', EVENT_COLUMNS);
    this.batches = new CreationBatches(this.db, ({ row, event }) => this.createAlone(row, { supersede: false, ...(event && { event }) }));
  }

  /** One creation in a statement of its own (create-statement.ts). */
  private createAlone(row: TransactionRow, options: Omit<Parameters<typeof createInOneStatement>[2], 'supersededBy'>) {
    return createInOneStatement(this.db, row, { supersededBy: `superseded by ${row.id}`, ...options });
  }

  /** Creates a transaction as the terminal's one open transaction. Under the terminal's lock: the
   * referenced purchase is locked and `decide` rules on it; an unfetched (or expired) open
   * transaction gives way to the new one; a fetched one makes the terminal busy. `retrieve`: a
   * poll of the terminal waits here for it, so it is RETRIEVED in the same commit, with both moves
   * recorded (CREATE, then RETRIEVE by the terminal) and both customer events, and the poll hands
   * it over without a commit of its own. */
  async create<E extends ErrorKind>(
    terminal: Terminal,
    t: NewTransaction,
    decide: (context: CreationContext) => Result<void, E>,
    { retrieve = false }: { retrieve?: boolean } = {},
  ): Promise<Result<Transaction, E | 'TERMINAL_BUSY'>> {
    const busy = (detail: string) => err('TERMINAL_BUSY', `Terminal ${terminal.id} is busy with ${detail}.`);
    const row = newTransactionRow(t);
    const retrieval = retrieve ? retrievalOf(row) : undefined;
    // PostgreSQL without a purchase to lock: one statement, one round trip, unless an unfetched
    // transaction must give way and its customer's event be written (the locked path below).
    if (this.lockRows && t.reference_id === null) {
      const decided = decide({ purchase: undefined, refunded_minor: 0 });
      if (!decided.ok) return decided;
      const atOnce = await this.createAtOnce(row, retrieval, busy, terminal);
      if (atOnce !== 'SUPERSEDE') return atOnce;
    }
    let superseded: Transaction | undefined;
    try {
      const created = await this.db.transaction().execute(async (tx): Promise<Result<Transaction, E | 'TERMINAL_BUSY'>> => {
        // Two statements on purpose: a locking join would, after waiting for the lock, still see
        // the transactions of its own snapshot and miss the one the previous holder just created.
        // FOR NO KEY UPDATE: creators of one terminal exclude each other, readers and the key checks of other tables do not wait.
        if (this.lockRows) await tx.selectFrom('terminals').select('id').where('id', '=', t.terminal_pk).forNoKeyUpdate().execute();
        const active = await this.queries.findActive(t.terminal_pk, tx);
        const purchase = t.reference_id === null ? undefined : await this.lock(t.reference_id, tx);
        const decided = decide({ purchase, refunded_minor: purchase ? await this.refundedOrPending(purchase.id, tx) : 0 });
        if (!decided.ok) return decided;
        if (active) {
          const event: LifecycleEvent = active.expires_at <= t.created_at ? 'EXPIRE' : 'SUPERSEDE';
          const moved = await this.applyIn(tx, active, event, {}, t.created_at, event === 'SUPERSEDE' ? `superseded by ${t.id}` : undefined);
          // Refused by the table, or lost to the terminal fetching it meanwhile.
          if (!moved.ok || moved.value === null) return busy(`transaction ${active.id}: it has been fetched by the terminal already`);
          superseded = moved.value;
        }
        await this.insertTransaction(tx, row);
        await this.insertEvent(tx, { transaction_id: t.id, at: t.created_at, actor: 'CUSTOMER', event: 'CREATE', from_status: null, from_stage: null, to_status: row.status, to_stage: row.stage, detail: null });
        const transaction = toTransaction(row);
        await this.outbox?.(tx, transaction, INITIAL_STATE, t.created_at, terminal);
        if (!retrieval) return ok(transaction);
        // Nobody else can have moved it: it is not committed yet.
        const retrieved = await this.applyIn(tx, transaction, 'RETRIEVE', {}, t.created_at);
        if (!retrieved.ok || retrieved.value === null) throw new Error(`transaction ${t.id} could not be retrieved in its creation`);
        return ok(retrieved.value);
      });
      if (created.ok) {
        if (superseded) {
          this.changed(superseded);
          this.reached(superseded.type, superseded.status);
        }
        this.reachedAll(created.value);
      }
      return created;
    } catch (e) {
      // The unique index on a terminal's open transaction is the last line: another writer won.
      if (isUniqueViolation(e)) return busy('another transaction');
      throw e;
    }
  }

  /** The creation as one autocommitted statement (create-statement.ts; a plain one asked while
   * others pile up, in theirs: create-batch.ts) with its customer's event;
   * when another creator committed meanwhile, again, with a snapshot that sees it: each retry
   * follows another creation of the same terminal, so only as many creators as race for one
   * terminal make it retry. 'SUPERSEDE': an unfetched transaction is in the way and the outbox needs
   * its whole row, so the caller takes the locked path (without an outbox, the statement
   * supersedes it itself). */
  private async createAtOnce(
    row: TransactionRow,
    retrieval: Retrieval | undefined,
    busy: (detail: string) => Result<never, 'TERMINAL_BUSY'>,
    terminal: Terminal,
  ): Promise<Result<Transaction, 'TERMINAL_BUSY'> | 'SUPERSEDE'> {
    const created = toTransaction(row);
    const event = await this.eventOf?.(this.db, created, INITIAL_STATE, row.created_at, terminal);
    // The table's move of the new row: everything as created but its stage.
    const retrieved = retrieval?.next;
    const retrievedEvent = retrieval && (await this.eventOf?.(this.db, retrieval.next, retrieval.plan.to, row.created_at, terminal));
    // An unfetched transaction in the way, as the last statement read it, with its move's event.
    let superseding: { id: string; event: TransactionEventRecord } | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const supersede = this.eventOf === undefined || superseding !== undefined;
        const done =
          // The plain creation, as most are: with others piling up, written together with them.
          !supersede && !retrieval
            ? await this.batches.create({ row, ...(event && { event }) })
            : await this.createAlone(row, {
                supersede,
                ...(event && { event }),
                ...(superseding && { superseding }),
                ...(retrieval && { retrieved: { plan: retrieval.plan, ...(retrievedEvent && { event: retrievedEvent }) } }),
              });
        if (done.active?.superseded) {
          this.changed({ id: done.active.id, terminal_pk: row.terminal_id });
          this.reached(done.active.row.type as TransactionType, SUPERSEDED_STATUS);
        }
        if (done.created) {
          this.reachedAll(retrieved ?? created);
          return ok(retrieved ?? created);
        }
        if (done.active?.stage === 'PENDING' && this.eventOf) {
          // Again, superseding the one just read (its whole row makes its customer event): a
          // second statement instead of the locked path's ten; anything else in the way by then
          // (another creator's) leaves it all unwritten, and the next attempt reads that one.
          if (attempt >= CREATE_ATTEMPTS) return 'SUPERSEDE';
          const active = toTransaction(done.active.row);
          const applied = apply(active, active.expires_at <= row.created_at ? 'EXPIRE' : 'SUPERSEDE');
          if (!applied.ok) return 'SUPERSEDE';
          const moved = { ...applied.value.next, updated_at: row.created_at };
          superseding = { id: active.id, event: await this.eventOf(this.db, moved, applied.value.plan.to, row.created_at, terminal) };
          continue;
        }
        return busy(`transaction ${done.active?.id ?? 'unknown'}: it has been fetched by the terminal already`);
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        if (attempt >= CREATE_ATTEMPTS) return busy('another transaction');
      }
    }
  }

  /** Moves `t` by `event`, reading and applying again when another writer moved it first, until
   * the move succeeds or the table no longer allows it. `changes` sees the transaction it moves.
   * `assignStan` hands out the terminal's next system trace audit number in the same commit. */
  async move(
    t: Transaction,
    event: LifecycleEvent,
    options: { at: number; changes?: (current: Transaction) => TransactionChanges; detail?: string; assignStan?: boolean },
  ): Promise<Result<Transaction, 'TRANSITION_NOT_ALLOWED'>> {
    let current = t;
    for (;;) {
      // Asked of the table first: a move it refuses costs no database round trip.
      const allowed = apply(current, event);
      if (!allowed.ok) return allowed;
      const changes = options.changes?.(current) ?? {};
      const atOnce = this.lockRows && !options.assignStan ? await this.moveAtOnce(current, allowed.value, changes, options.at, options.detail) : undefined;
      const moved = atOnce ?? await this.db.transaction().execute(async (tx) => {
        const applied = await this.applyIn(tx, current, event, changes, options.at, options.detail);
        if (!applied.ok || applied.value === null || !options.assignStan) return applied;
        const { last_stan } = await tx
          .updateTable('terminals')
          .set((eb) => ({ last_stan: eb(eb('last_stan', '%', 999_999), '+', 1) }))
          .where('id', '=', current.terminal_pk)
          .returning('last_stan')
          .executeTakeFirstOrThrow();
        const stan = String(last_stan).padStart(6, '0');
        await tx.updateTable('transactions').set({ stan }).where('id', '=', current.id).execute();
        return ok({ ...applied.value, stan });
      });
      if (!moved.ok) return moved;
      if (moved.value !== null) {
        this.changed(moved.value);
        if (moved.value.status !== current.status) this.reached(moved.value.type, moved.value.status);
        return ok(moved.value);
      }
      const again = await this.queries.findById(current.id);
      if (!again) return err('TRANSITION_NOT_ALLOWED', `Transaction ${t.id} is gone.`);
      current = again;
    }
  }

  /** PostgreSQL: the move as one autocommitted statement (move-statement.ts) with its customer's
   * event. Undefined: the statement met an event numbered meanwhile, and the caller moves it in a
   * transaction instead. */
  private async moveAtOnce(
    t: Transaction,
    { plan, next }: { plan: TransitionPlan; next: Transaction },
    changes: TransactionChanges,
    at: number,
    detail?: string,
  ): Promise<Result<Transaction | null, never> | undefined> {
    const moved = { ...next, ...changes, updated_at: at };
    // A move that changes nothing a customer sees (a late approval's reversal) tells the customer nothing.
    const visible = plan.from.status !== plan.to.status || plan.from.stage !== plan.to.stage;
    const event = visible && this.eventOf ? await this.eventOf(this.db, moved, plan.to, at) : undefined;
    if (visible && this.outbox && !event) return undefined;
    try {
      return ok((await moveInOneStatement(this.db, t, plan, next, changes, at, detail ?? plan.cancel_reason ?? plan.result ?? null, event)) ? moved : null);
    } catch (e) {
      if (isUniqueViolation(e)) return undefined;
      throw e;
    }
  }

  /** One compare-and-set with its event row. Null: another writer moved the transaction first. */
  private async applyIn(
    db: Executor,
    t: Transaction,
    event: LifecycleEvent,
    changes: TransactionChanges,
    at: number,
    detail?: string,
  ): Promise<Result<Transaction | null, 'TRANSITION_NOT_ALLOWED'>> {
    const applied = apply(t, event);
    if (!applied.ok) return applied;
    const { plan, next } = applied.value;
    const res = await db
      .updateTable('transactions')
      .set({ ...changes, status: next.status, stage: next.stage, result: next.result, cancel_reason: next.cancel_reason, updated_at: at })
      .where('id', '=', t.id)
      .where('status', '=', plan.from.status)
      .where('stage', '=', plan.from.stage)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return ok(null);
    await this.insertEvent(db, eventRow(t.id, plan, at, detail));
    const moved = { ...next, ...changes, updated_at: at };
    // A move that changes nothing a customer sees (a late approval's reversal) tells the customer nothing.
    if (plan.from.status !== plan.to.status || plan.from.stage !== plan.to.stage) await this.outbox?.(db, moved, plan.to, at);
    return ok(moved);
  }

  /** A creation's statuses: its first, and the one it was retrieved with if that differs. */
  private reachedAll(t: Transaction) {
    this.reached(t.type, INITIAL_STATE.status);
    if (t.status !== INITIAL_STATE.status) this.reached(t.type, t.status);
  }

  /** Locks a row for the rest of the database transaction. */
  private async lock(id: string, db: Executor) {
    const q = db.selectFrom('transactions').selectAll().where('id', '=', id);
    return firstTransaction(await (this.lockRows ? q.forUpdate() : q).execute());
  }

  /** Approved plus in-flight refunds of a purchase, in minor units. */
  private async refundedOrPending(purchaseId: string, db: Executor) {
    const row = await db
      .selectFrom('transactions')
      .where('reference_id', '=', purchaseId)
      .where('type', '=', 'REFUND')
      .where((eb) => eb.or([eb('status', '=', 'CLEARED'), eb('stage', '<>', 'DONE')]))
      .select((eb) => eb.fn.sum<number>('amount_minor').as('total'))
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }
}

/** Where a superseded or expired transaction goes (create-statement.ts checks both moves alike). */
const SUPERSEDED_STATUS = TRANSITIONS.SUPERSEDE.to.status;

/** The move of a transaction just created to RETRIEVED, as the life-cycle table makes it. */
type Retrieval = { plan: TransitionPlan; next: Transaction };

function retrievalOf(row: TransactionRow): Retrieval {
  const applied = apply(toTransaction(row), 'RETRIEVE');
  if (!applied.ok) throw new Error('a new transaction can always be retrieved');
  return applied.value;
}

function eventRow(id: string, plan: TransitionPlan, at: number, detail?: string) {
  return {
    transaction_id: id,
    at,
    actor: plan.actor,
    event: plan.event,
    from_status: plan.from.status,
    from_stage: plan.from.stage,
    to_status: plan.to.status,
    to_stage: plan.to.stage,
    detail: detail ?? plan.cancel_reason ?? plan.result ?? null,
  };
}
