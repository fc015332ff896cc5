import type { TransitionPlan } from '../domain/transaction-lifecycle.js';
import { compiledOnce } from './compiled-once.js';
import type { Executor } from './executor.js';
import type { NewTransaction, TransactionRow, TransactionsTable } from './schema.js';

export interface TransactionFilter {
  merchant_order_reference?: string;
  status?: string;
  type?: string;
  created_from?: number;
  created_to?: number;
}

type Changes = Partial<Omit<TransactionsTable, 'id' | 'status' | 'stage' | 'result' | 'cancel_reason'>>;

export class TransactionRepository {
  constructor(private readonly db: Executor) {}

  // The queries of every poll and every status read, compiled once.
  private readonly activeOf = compiledOnce((terminalId: number) =>
    this.db.selectFrom('transactions').selectAll().where('terminal_id', '=', terminalId).where('stage', '<>', 'DONE'),
  );
  private readonly ofTerminal = compiledOnce((terminalId: number, id: string) =>
    this.db.selectFrom('transactions').selectAll().where('id', '=', id).where('terminal_id', '=', terminalId),
  );
  private readonly ofCustomerTerminal = compiledOnce((customerId: number, terminalKey: string, id: string) =>
    this.db
      .selectFrom('transactions')
      .innerJoin('terminals', 'terminals.id', 'transactions.terminal_id')
      .innerJoin('stores', 'stores.uuid', 'terminals.store_uuid')
      .selectAll('transactions')
      .select(['stores.uuid as store_uuid', 'stores.name as store_name'])
      .where('transactions.id', '=', id)
      .where('terminals.terminal_key', '=', terminalKey)
      .where('transactions.customer_id', '=', customerId),
  );

  async insert(row: NewTransaction, event: { actor: string; detail?: string }, db: Executor) {
    await db.insertInto('transactions').values(row).execute();
    await db
      .insertInto('transaction_events')
      .values({
        transaction_id: row.id,
        at: row.created_at,
        actor: event.actor,
        event: 'CREATE',
        from_status: null,
        from_stage: null,
        to_status: row.status,
        to_stage: row.stage,
        detail: event.detail ?? null,
      })
      .execute();
  }

  findById(id: string, db: Executor = this.db) {
    return db.selectFrom('transactions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A transaction of one terminal, seen by its customer. */
  async findForTerminal(terminalId: number, id: string, db: Executor = this.db) {
    return (await this.ofTerminal(db, terminalId, id))[0];
  }

  /** A transaction on the terminal a MerchantAPI path names, with its store: one round trip for a
   * status read (the customer's own, or nothing). */
  async findForCustomer(customerId: number, terminalKey: string, id: string) {
    const row = (await this.ofCustomerTerminal(this.db, customerId, terminalKey, id))[0];
    if (!row) return undefined;
    const { store_uuid, store_name, ...transaction } = row;
    return { transaction: transaction as TransactionRow, store: { store_uuid, store_name } };
  }

  /** The transaction the terminal has in hand or waiting for it (at most one: a unique index). */
  async findActive(terminalId: number, db: Executor = this.db) {
    return (await this.activeOf(db, terminalId))[0];
  }

  /** Locks a row for the rest of the database transaction (PostgreSQL; SQLite writers are serial). */
  lock(id: string, db: Executor, forUpdate: boolean) {
    const q = db.selectFrom('transactions').selectAll().where('id', '=', id);
    return (forUpdate ? q.forUpdate() : q).executeTakeFirst();
  }

  /** Takes the terminal's row lock, then answers its open transaction. Two statements on purpose:
   * a locking join would, after waiting for the lock, still see the transactions of its own
   * snapshot and miss the one the previous lock holder just created. Only PostgreSQL needs the
   * lock: a SQLite transaction holds the database's write lock from its start. */
  async lockTerminalFindActive(terminalId: number, db: Executor, lockRows: boolean): Promise<TransactionRow | undefined> {
    if (lockRows) await db.selectFrom('terminals').select('id').where('id', '=', terminalId).forUpdate().execute();
    return this.findActive(terminalId, db);
  }

  /** Runs a planned transition as a compare-and-set and records it. False: someone moved first. */
  async applyTransition(id: string, plan: TransitionPlan, at: number, changes: Changes, db: Executor, detail?: string): Promise<boolean> {
    const res = await db
      .updateTable('transactions')
      .set({
        ...changes,
        status: plan.to.status,
        stage: plan.to.stage,
        ...(plan.result !== undefined && { result: plan.result }),
        ...(plan.cancel_reason !== undefined && { cancel_reason: plan.cancel_reason }),
        updated_at: at,
      })
      .where('id', '=', id)
      .where('status', '=', plan.from.status)
      .where('stage', '=', plan.from.stage)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await db
      .insertInto('transaction_events')
      .values({
        transaction_id: id,
        at,
        actor: plan.actor,
        event: plan.event,
        from_status: plan.from.status,
        from_stage: plan.from.stage,
        to_status: plan.to.status,
        to_stage: plan.to.stage,
        detail: detail ?? plan.cancel_reason ?? plan.result ?? null,
      })
      .execute();
    return true;
  }

  /** Approved plus in-flight refunds of a purchase, in minor units. */
  async refundedOrPending(purchaseId: string, db: Executor) {
    const row = await db
      .selectFrom('transactions')
      .where('reference_id', '=', purchaseId)
      .where('type', '=', 'REFUND')
      .where((eb) => eb.or([eb('status', '=', 'CLEARED'), eb('stage', '<>', 'DONE')]))
      .select((eb) => eb.fn.sum<number>('amount_minor').as('total'))
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  nextStan(terminalId: number, db: Executor) {
    return db
      .updateTable('terminals')
      .set((eb) => ({ last_stan: eb(eb('last_stan', '%', 999_999), '+', 1) }))
      .where('id', '=', terminalId)
      .returning('last_stan')
      .executeTakeFirstOrThrow();
  }

  private filtered(terminalId: number, f: TransactionFilter) {
    let q = this.db.selectFrom('transactions').where('terminal_id', '=', terminalId);
    if (f.merchant_order_reference !== undefined) q = q.where('merchant_order_reference', '=', f.merchant_order_reference);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    if (f.created_from !== undefined) q = q.where('created_at', '>=', f.created_from);
    if (f.created_to !== undefined) q = q.where('created_at', '<', f.created_to);
    return q;
  }

  async count(terminalId: number, f: TransactionFilter) {
    const row = await this.filtered(terminalId, f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  page(terminalId: number, f: TransactionFilter, offset: number, limit: number): Promise<TransactionRow[]> {
    return this.filtered(terminalId, f).selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
  }

  pendingDue(now: number, limit = 500) {
    return this.db
      .selectFrom('transactions')
      .selectAll()
      .where('stage', '=', 'PENDING')
      .where('expires_at', '<=', now)
      .limit(limit)
      .execute();
  }

  cardPresentedBefore(at: number) {
    return this.db.selectFrom('transactions').selectAll().where('stage', '=', 'CARD_PRESENTED').where('updated_at', '<', at).execute();
  }

  /** What moved money on a terminal within [start, end): the day totals' input. */
  processedBetween(terminalId: number, start: number, end: number) {
    return this.db
      .selectFrom('transactions')
      .selectAll()
      .where('terminal_id', '=', terminalId)
      .where('transaction_at', '>=', start)
      .where('transaction_at', '<', end)
      .execute();
  }

  events(id: string) {
    return this.db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', id).orderBy('id').execute();
  }
}
