import { sql } from 'kysely';
import type { Executor } from './executor.js';

/** Rows per statement of the retention sweeps: a few milliseconds each. */
export const RETENTION_SLICE = 2_000;

/** Deletes the rows of `table` whose `column` is before `before`, `slice` at a time (by the rows'
 * `key`), leaving the event loop to requests between statements. An hour of events at 100
 * payments/s is over a million rows: one statement would hold SQLite's event loop and write lock
 * for seconds, or PostgreSQL's locks in one long transaction. Returns how many rows went. */
export async function deleteOlderInSlices(
  db: Executor,
  table: 'events' | 'webhook_deliveries' | 'webhook_attempts' | 'idempotency_keys',
  key: string[],
  column: string,
  before: number,
  slice = RETENTION_SLICE,
): Promise<number> {
  const keys = sql.join(key.map((k) => sql.ref(k)));
  let deleted = 0;
  for (;;) {
    const { numAffectedRows } = await sql`delete from ${sql.table(table)} where (${keys}) in (
      select ${keys} from ${sql.table(table)} where ${sql.ref(column)} < ${before} limit ${slice})`.execute(db);
    const n = Number(numAffectedRows ?? 0);
    deleted += n;
    if (n < slice) return deleted;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
