/** The plumbing of SQLite's writing and reading connections (sqlite-driver.ts): turns at the
 * writing connection, prepared statements kept by their SQL, and a statement run as Kysely expects. */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, QueryResult } from 'kysely';

/** A statement run with the query's parameters: its rows, or what it changed. */
export function run<R>(statement: SQLite.Statement, query: CompiledQuery): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(query.parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/** Turns at the writing connection, first come first served. Kysely's own mutex wakes every
 * waiter at each release (all of them await one promise, and all but one wait again): with
 * thousands of statements queued behind a transaction, that is quadratic in wake-ups and in the
 * promises they allocate. Here a release wakes the next only. */
export class ConnectionTurns {
  private busy = false;
  private readonly waiting: Array<() => void> = [];

  take(): Promise<void> | void {
    if (!this.busy) {
      this.busy = true;
      return;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give() {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}

/** Kysely prepares every query it runs, and preparing costs SQLite more than running a small
 * query: keep the prepared statements by their SQL (the queries are few and fixed) and reuse them.
 * A statement still being iterated (streaming) is busy, so that caller gets a fresh one. */
export class StatementCache {
  private readonly statements = new Map<string, SQLite.Statement>();

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly max = 500,
  ) {}

  get(sql: string): SQLite.Statement {
    const cached = this.statements.get(sql);
    if (cached && !cached.busy) return cached;
    const statement = this.sqlite.prepare(sql);
    if (!cached) {
      if (this.statements.size >= this.max) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
