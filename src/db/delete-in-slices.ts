import { sql, type RawBuilder } from 'kysely';
import type { Executor } from './executor.js';

/** The tables of the event log, appended to in time order. */
export type LogTable = 'events' | 'webhook_deliveries' | 'webhook_attempts';

/** Rows per statement of the retention sweeps: a few milliseconds each. */
export const RETENTION_SLICE = 2_000;

/** Deletes the rows of `table` whose `column` is before `before`, `slice` at a time (by the rows'
 * `key`), leaving the event loop to requests between statements. An hour of events at 100
 * payments/s is over a million rows: one statement would hold SQLite's event loop and write lock
 * for seconds, or PostgreSQL's locks in one long transaction. Returns how many rows went. */
export function deleteOlderInSlices(
  db: Executor,
  table: LogTable | 'idempotency_keys',
  key: string[],
  column: string,
  before: number,
  slice = RETENTION_SLICE,
): Promise<number> {
  const keys = sql.join(key.map((k) => sql.ref(k)));
  return inSlices(db, slice, sql`delete from ${sql.table(table)} where (${keys}) in (
    select ${keys} from ${sql.table(table)} where ${sql.ref(column)} < ${before} limit ${slice})`);
}

/** SQLite's retention of a table appended to in time order, with no index by time (migration
 * 0014): slices of its first rows by rowid, of which those older than `before` go, until a slice
 * holds a row that is not. Each statement reads its slice's rows and no more. A row stamped
 * before one inserted ahead of it (a clock set back) waits for that one to age out too: at most
 * the clock's step longer. Returns how many rows went. */
export function deleteFirstOlderInSlices(db: Executor, table: LogTable, column: string, before: number, slice = RETENTION_SLICE): Promise<number> {
  return inSlices(db, slice, sql`delete from ${sql.table(table)} where rowid in (
    select rowid from ${sql.table(table)} order by rowid limit ${slice}) and ${sql.ref(column)} < ${before}`);
}

/** Runs `statement` (deleting at most `slice` rows) until it deletes fewer, leaving the event loop
 * to requests between runs. Returns how many rows went. */
async function inSlices(db: Executor, slice: number, statement: RawBuilder<unknown>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = Number((await statement.execute(db)).numAffectedRows ?? 0);
    deleted += n;
    if (n < slice) return deleted;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
