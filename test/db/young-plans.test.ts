import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import type { Tables } from '../../src/db/schema.js';
import { newTransactionId } from '../../src/transactions/create.js';
import { TransactionQueries } from '../../src/transactions/transaction-queries.js';
import { latestTerminalPk, onboard, usePlatform } from '../support/platform.js';

// PostgreSQL keeps one plan per prepared statement, made on the first calls: in a new database,
// while the transactions table is young. The reads every poll and every card makes must keep a
// plan that reads a few pages however many transactions follow (transaction-queries.ts).
describe('postgres: the plans of the hot reads, made on a young table', () => {
  const platform = usePlatform('postgres');

  it('read a transaction by its primary key (a terminal’s, a customer’s) and a terminal’s open one by the partial index, with 2,000 transactions behind', async () => {
    const { db } = platform();
    const c = await onboard(platform().app);
    const pk = await latestTerminalPk(db.store.db);
    // The statements as the platform sends them, seen on the way out.
    const sent: CompiledQuery[] = [];
    const seeing = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 1 }) }), log: (e) => void sent.push(e.query) });
    try {
      const queries = new TransactionQueries({ db: seeing, dialect: 'postgres' } as Database);
      expect(await queries.findForTerminal(pk, newTransactionId())).toBeUndefined();
      expect(await queries.findActive(pk)).toBeUndefined();
      expect(await queries.findForCustomer(c.customerId, c.terminals[0]!.id.toLowerCase(), newTransactionId())).toBeUndefined();
    } finally {
      await seeing.destroy();
    }
    expect(sent).toHaveLength(3);
    const real = db.store.db;

    const plans = await real.connection().execute(async (conn) => {
      await sql`set plan_cache_mode = force_generic_plan`.execute(conn);
      const literal = (v: unknown) => (Array.isArray(v) ? `'{${v.join(',')}}'` : typeof v === 'number' ? String(v) : `'${String(v)}'`);
      const execute = (i: number) => `execute young_${i}(${sent[i]!.parameters.map(literal).join(', ')})`;
      try {
        // Planned now, on the young table, and kept.
        for (const [i, q] of sent.entries()) {
          await sql.raw(`prepare young_${i} as ${q.sql}`).execute(conn);
          await sql.raw(execute(i)).execute(conn);
        }
        // The terminal's payments since: 2,000, each one done.
        await sql`insert into transactions (id, customer_id, terminal_id, type, status, stage, merchant_order_reference, amount_minor, currency, created_at, expires_at, updated_at)
                  select g::text || ${newTransactionId().slice(0, 20)}, ${c.customerId}, ${pk}, 'PURCHASE', 'CLEARED', 'DONE', 'young-' || g, 100, 'EUR', g, g, g
                    from generate_series(1000000000, 1000001999) g`.execute(conn);
        const explained: string[] = [];
        for (const i of sent.keys()) {
          const rows = await sql.raw<{ 'QUERY PLAN': string }>(`explain ${execute(i)}`).execute(conn);
          explained.push(rows.rows.map((r) => r['QUERY PLAN']).join('\n'));
        }
        return explained;
      } finally {
        await sql`deallocate all`.execute(conn);
        await sql`reset plan_cache_mode`.execute(conn);
      }
    });
    const [byId, active, ofCustomer] = plans as [string, string, string];
    expect(byId).toContain('Index Scan using transactions_pkey');
    expect(byId).not.toMatch(/Seq Scan|terminal/);
    expect(active).toContain('Index Scan using transactions_one_active_per_terminal');
    expect(active).not.toMatch(/Seq Scan|Bitmap|transactions_terminal_/);
    // The MerchantAPI's status read: the transaction by its key, then its terminal and store.
    expect(ofCustomer).toContain('Index Scan using transactions_pkey');
    expect(ofCustomer).not.toMatch(/Seq Scan|transactions_terminal_/);
  });
});
