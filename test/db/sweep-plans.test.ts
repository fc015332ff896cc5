import { CompiledQuery, createQueryId, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { expect, it } from 'vitest';
import { TransactionQueries } from '../../src/transactions/transaction-queries.js';
import { deleteFirstOlderInSlices } from '../../src/db/delete-in-slices.js';
import { WebhookRepository } from '../../src/db/webhook-repository.js';
import { customerWithEndpoint } from '../support/outbox.js';
import type { Database } from '../../src/db/database.js';
import { describeEachStore, useTestDatabase } from '../support/stores.js';

/** Keeps the queries run through it, to explain them afterwards. */
class Recorder implements KyselyPlugin {
  readonly nodes: RootOperationNode[] = [];
  transformQuery({ node }: { node: RootOperationNode }) {
    this.nodes.push(node);
    return node;
  }
  async transformResult<R>({ result }: { result: R }) {
    return result;
  }
}

/** The plan the database chooses for each query a call of `queries` ran, as one text. Sequential
 * scans are ruled out where they can be (PostgreSQL), so that a tiny table shows which indexes a
 * query can use at all. */
async function plansOf(store: Database, call: (queries: TransactionQueries) => Promise<unknown>): Promise<string> {
  return plansOfRun(store, (db) => call(new TransactionQueries({ ...store, db })));
}

/** The plans of the queries `run` ran on the store's database, as plansOf. */
async function plansOfRun(store: Database, run: (db: Database['db']) => Promise<unknown>): Promise<string> {
  const recorder = new Recorder();
  await run(store.db.withPlugin(recorder));
  const executor = store.db.getExecutor();
  const plans: string[] = [];
  for (const node of recorder.nodes) {
    const { sql: text, parameters } = executor.compileQuery(node, createQueryId());
    if (store.dialect === 'sqlite') {
      const rows = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${text}`, [...parameters]));
      plans.push(rows.rows.map((r) => r.detail).join('\n'));
    } else {
      plans.push(
        await store.db.transaction().execute(async (tx) => {
          await sql`set local enable_seqscan = off`.execute(tx);
          const rows = await tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${text}`, [...parameters]));
          return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
        }),
      );
    }
  }
  return plans.join('\n');
}

describeEachStore('the sweeps and the metrics read open transactions through partial indexes, not every transaction ever made', (dialect) => {
  const db = useTestDatabase(dialect);

  it('abandoned card presentations: the index of open transactions', async () => {
    const plan = await plansOf(db().store, (q) => q.cardPresentedBefore(Date.now()));
    expect(plan).toContain('transactions_one_active_per_terminal');
    expect(plan).not.toMatch(/SCAN transactions$|Seq Scan/m);
  });

  it('payments due to expire: the index of pending ones', async () => {
    const plan = await plansOf(db().store, (q) => q.pendingDue(Date.now()));
    expect(plan).toContain('transactions_pending_expiry');
    expect(plan).not.toMatch(/SCAN transactions$|Seq Scan/m);
  });

  it('open transactions by type and stage (the cloudpos_transactions_open gauge): the index of open transactions', async () => {
    const plan = await plansOf(db().store, (q) => q.openCounts());
    expect(plan).toContain('transactions_one_active_per_terminal');
    expect(plan).not.toMatch(/SCAN transactions$|Seq Scan/m);
  });
});

/** The plan of one query (sequential scans ruled out on PostgreSQL, as above). */
async function planOf(store: Database, query: { compile(): CompiledQuery }): Promise<string> {
  const { sql: text, parameters } = query.compile();
  if (store.dialect === 'sqlite') {
    const rows = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${text}`, [...parameters]));
    return rows.rows.map((r) => r.detail).join('\n');
  }
  return store.db.transaction().execute(async (tx) => {
    await sql`set local enable_seqscan = off`.execute(tx);
    const rows = await tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${text}`, [...parameters]));
    return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describeEachStore('the reads a new payment is left out of still find their rows through an index', (dialect) => {
  const db = useTestDatabase(dialect);

  it("a purchase's refunds: the index of referenced purchases", async () => {
    const { store } = db();
    const plan = await planOf(store, store.db.selectFrom('transactions').where('reference_id', '=', '1').where('type', '=', 'REFUND').select('amount_minor'));
    expect(plan).toContain('transactions_reference');
  });

  it("a terminal's day totals: an index of the terminal's transactions", async () => {
    const plan = await plansOf(db().store, (q) => q.processedBetween(1, 0, 86_400_000));
    expect(plan).not.toMatch(/SCAN transactions$|Seq Scan/m);
  });

  it('the events retention: on SQLite the first rows by rowid, on PostgreSQL the index of events by time', async () => {
    const { store } = db();
    if (dialect === 'sqlite') {
      // A slice of the first rows, each deleted through the rowid.
      const plan = await plansOfRun(store, (db) => deleteFirstOlderInSlices(db, 'events', 'created_at', 100));
      expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(plan).not.toMatch(/TEMP B-TREE|events_/);
      return;
    }
    // A BRIN index is chosen over the others once the table has rows in time order (a tiny one
    // is cheaper to read through any btree).
    await sql`insert into events (id, customer_id, type, subject, sequence, data, created_at, dispatched)
      select 'evt_' || g, 1, 'transaction.created', 'transaction:' || g, 1, '{}', g, 1 from generate_series(1, 20000) g`.execute(store.db);
    await sql`analyze events`.execute(store.db);
    const plan = await planOf(store, store.db.selectFrom('events').select('id').where('created_at', '<', 100).limit(2_000));
    expect(plan).toContain('events_created');
  });

  it("an endpoint's deletion: its pending deliveries through the index of due ones", async () => {
    const { store } = db();
    const customer = await customerWithEndpoint(store.db, new WebhookRepository(store.db, dialect), 'we_x', 'http://127.0.0.1:9/x');
    const plan = await plansOfRun(store, (kysely) => new WebhookRepository(kysely, dialect).deleteEndpoint(customer, 'we_x'));
    expect(plan).toContain('webhook_deliveries_due');
    expect(plan).not.toMatch(/SCAN webhook_deliveries$|Seq Scan on webhook_deliveries/m);
  });
});
