import { sql } from 'kysely';
import { BatchedReads } from '../db/batched-reads.js';
import { compiledOnce } from '../db/compiled-once.js';
import type { Executor } from '../db/executor.js';
import type { Database } from '../db/database.js';
import { keyList, oneOf } from '../db/key-list.js';
import type { StoreRef } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import type { TransactionRow } from '../db/schema.js';
import type { PublicStatus, TransactionType } from '../domain/transaction-lifecycle.js';
import { firstTransaction, toTransaction } from './transaction-row.js';

export interface TransactionFilter {
  merchant_order_reference?: string;
  status?: PublicStatus;
  type?: TransactionType;
  created_from?: number;
  created_to?: number;
}

/** `stage <> 'DONE'` written as a literal, not a parameter: the predicate of the partial unique index
 * of a terminal's open transaction (`transactions_one_active_per_terminal`). With a parameter the
 * lookup took SQLite twice the time (26.6 against 12.7 µs), and a PostgreSQL prepared statement's
 * generic plan cannot use the index (it scans the terminal's transactions by another). */
const OPEN = sql.lit('DONE');

/** The transactions as lookups, lists and reports read them (none of them changes anything; every
 * change goes through the TransactionGateway): one transaction by id, of a terminal or of a
 * customer's terminal, a terminal's open one, a terminal's list, the sweeps' due and stuck ones,
 * the open ones counted, the day totals' input and a transaction's recorded history. */
export class TransactionQueries {
  private readonly db: Executor;

  constructor(database: Database) {
    this.db = database.db;
    const dialect = database.dialect;
    // PostgreSQL keeps one plan per prepared statement, made from its sixth call on, in a new
    // database while the table is young, and without statistics (autovacuum off) for good. Planned
    // on an empty table, `terminal_id = any($1)` kept a sequential scan (656 pages per poll with
    // 20,000 transactions behind); one terminal at a time in a LATERAL subquery with LIMIT 1, which
    // PostgreSQL does not flatten into a join, the partial unique index is the only plan.
    const activeOfMany = compiledOnce((terminalPks: unknown) =>
      dialect === 'postgres'
        ? { compile: () => sql<TransactionRow>`select t.* from unnest(${terminalPks}::bigint[]) k(pk) cross join lateral (select * from transactions where terminal_id = k.pk and stage <> ${OPEN} limit 1) t`.compile(this.db) }
        : this.db.selectFrom('transactions').selectAll().where(oneOf(dialect, 'terminal_id', terminalPks)).where('stage', '<>', OPEN),
    );
    this.activeBatched = new BatchedReads(async (pks) => {
      const rows = await activeOfMany(this.db, keyList(dialect, pks));
      return new Map(rows.map((r) => [Number(r.terminal_id), toTransaction(r)]));
    });
  }

  /** Polls' looks for their terminal's open transaction, asked of the store together when many are
   * asked at once (a fleet's first polls). */
  private readonly activeBatched: BatchedReads<number, Transaction>;

  // The queries of every poll and every status read, compiled once.
  private readonly activeOf = compiledOnce((terminalPk: number) =>
    this.db.selectFrom('transactions').selectAll().where('terminal_id', '=', terminalPk).where('stage', '<>', OPEN),
  );
  private readonly byId = compiledOnce((id: string) => this.db.selectFrom('transactions').selectAll().where('id', '=', id));
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

  async findById(id: string, db: Executor = this.db) {
    return firstTransaction(await this.byId(db, id));
  }

  /** A transaction of one terminal. */
  async findForTerminal(terminalPk: number, id: string) {
    // By its id alone, the terminal compared here: with the terminal in the query, the plan kept
    // from a young table read the terminal's every transaction by another index (806 pages for a
    // terminal with 1,250).
    const t = firstTransaction(await this.byId(this.db, id));
    return t?.terminal_pk === terminalPk ? t : undefined;
  }

  /** A transaction on the terminal a MerchantAPI path names, with its store: one round trip for a
   * status read (the customer's own, or nothing). */
  async findForCustomer(customerId: number, terminalKey: string, id: string): Promise<{ transaction: Transaction; store: StoreRef } | undefined> {
    const row = (await this.ofCustomerTerminal(this.db, customerId, terminalKey, id))[0];
    if (!row) return undefined;
    // The row as it is: toTransaction reads its own fields (a rest pattern copied the other 27).
    return { transaction: toTransaction(row), store: { uuid: row.store_uuid, name: row.store_name } };
  }

  /** The transaction the terminal has in hand or waiting for it (at most one: a unique index). */
  async findActive(terminalPk: number, db?: Executor) {
    return db ? firstTransaction(await this.activeOf(db, terminalPk)) : this.activeBatched.read(terminalPk);
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

  /** Read through the partial index of open transactions (at most one per terminal), not by a scan
   * of every transaction ever made: `stage <> 'DONE'` is what lets the database use it. */
  async cardPresentedBefore(at: number) {
    const rows = await this.db
      .selectFrom('transactions')
      .selectAll()
      .where('stage', '<>', OPEN)
      .where('stage', '=', 'CARD_PRESENTED')
      .where('updated_at', '<', at)
      .execute();
    return rows.map(toTransaction);
  }

  /** Open transactions by type and stage (the metrics' gauge), through the same index: as many rows
   * as terminals at most, however many transactions the database keeps. */
  async openCounts(): Promise<Array<{ type: string; stage: string; n: number }>> {
    const rows = await this.db
      .selectFrom('transactions')
      .select((eb) => ['type', 'stage', eb.fn.countAll<number | string>().as('n')])
      .where('stage', '<>', OPEN)
      .groupBy(['type', 'stage'])
      .execute();
    return rows.map((r) => ({ type: r.type, stage: r.stage, n: Number(r.n) }));
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
