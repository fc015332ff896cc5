import { sql } from 'kysely';
import type { Executor } from '../db/executor.js';
import type { Database } from '../db/database.js';
import type { PublicStatus, TransactionType } from '../domain/transaction-lifecycle.js';
import { toTransaction } from './transaction-row.js';

export interface TransactionFilter {
  merchant_order_reference?: string;
  status?: PublicStatus;
  type?: TransactionType;
  created_from?: number;
  created_to?: number;
}

/** The transactions as lists and reports read them (none of them changes anything; every change
 * goes through the TransactionGateway): a terminal's list, the sweeps' due and stuck ones, the
 * day totals' input and a transaction's recorded history. */
export class TransactionQueries {
  private readonly db: Executor;

  constructor(database: Database) {
    this.db = database.db;
  }

  private filtered(terminalPk: number, f: TransactionFilter) {
    let q = this.db.selectFrom('transactions').where('terminal_id', '=', terminalPk);
    if (f.merchant_order_reference !== undefined) q = q.where('merchant_order_reference', '=', f.merchant_order_reference);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    if (f.created_from !== undefined) q = q.where('created_at', '>=', f.created_from);
    if (f.created_to !== undefined) q = q.where('created_at', '<', f.created_to);
    return q;
  }

  /** One page of a terminal's transactions, newest first, and how many match in all. */
  async list(terminalPk: number, f: TransactionFilter, offset: number, limit: number) {
    const [count, rows] = await Promise.all([
      this.filtered(terminalPk, f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      this.filtered(terminalPk, f).selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
    ]);
    return { total: Number(count.n), transactions: rows.map(toTransaction) };
  }

  /** 'PENDING' as a literal: the predicate of the partial index `transactions_pending_expiry`. */
  async pendingDue(now: number, limit = 500) {
    const rows = await this.db.selectFrom('transactions').selectAll().where('stage', '=', sql.lit('PENDING')).where('expires_at', '<=', now).limit(limit).execute();
    return rows.map(toTransaction);
  }

  async cardPresentedBefore(at: number) {
    const rows = await this.db.selectFrom('transactions').selectAll().where('stage', '=', 'CARD_PRESENTED').where('updated_at', '<', at).execute();
    return rows.map(toTransaction);
  }

  /** What was processed on a terminal within [start, end), or captured then: the day totals' input. */
  async processedBetween(terminalPk: number, start: number, end: number) {
    const rows = await this.db
      .selectFrom('transactions')
      .selectAll()
      .where('terminal_id', '=', terminalPk)
      .where((eb) =>
        eb.or([eb.and([eb('transaction_at', '>=', start), eb('transaction_at', '<', end)]), eb.and([eb('captured_at', '>=', start), eb('captured_at', '<', end)])]),
      )
      .execute();
    return rows.map(toTransaction);
  }

  /** The recorded history of one transaction, oldest first. */
  events(id: string) {
    return this.db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', id).orderBy('id').execute();
  }
}
