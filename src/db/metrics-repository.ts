import { sql, type Kysely } from 'kysely';
import type { Tables } from './schema.js';

/** The few counts the metrics endpoint reads at scrape time. */
export class MetricsRepository {
  constructor(private readonly db: Kysely<Tables>) {}

  async terminalsSeenSince(at: number): Promise<number> {
    const row = await this.db
      .selectFrom('terminal_presence')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('last_seen_at', '>=', at)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Open transactions by type and stage, read through the partial index of a terminal's open
   * transaction (its predicate as a literal, as TransactionQueries writes it): at most one per
   * terminal, however many transactions the database keeps. */
  async openTransactions(): Promise<Array<{ type: string; stage: string; n: number }>> {
    const rows = await this.db
      .selectFrom('transactions')
      .select((eb) => ['type', 'stage', eb.fn.countAll<number | string>().as('n')])
      .where('stage', '<>', sql.lit('DONE'))
      .groupBy(['type', 'stage'])
      .execute();
    return rows.map((r) => ({ type: r.type, stage: r.stage, n: Number(r.n) }));
  }
}
