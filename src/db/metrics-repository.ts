import type { Kysely } from 'kysely';
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
}
