import type { Compilable, CompiledQuery, Insertable, RawBuilder } from 'kysely';
import type { Executor } from './executor.js';
import type { Tables } from './schema.js';

/** Kysely builds and compiles a query on every call, which costs more than running a small query.
 * A hot query is compiled once, with markers for its arguments, and every call runs the same SQL
 * with its own parameters (the query's constants stay as they were compiled). */
export function compiledOnce<A extends unknown[], R>(build: (...args: A) => Compilable<R>) {
  let template: { query: CompiledQuery<R>; slots: number[] } | undefined;
  return async (db: Executor, ...args: A): Promise<R[]> => {
    if (!template) {
      const markers = args.map((_, i) => `\u0000compiled-once-argument-${i}\u0000`);
      const query = build(...(markers as unknown as A)).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (!markers.every((_, i) => slots.includes(i))) throw new Error(`an argument of ${query.sql} is not a parameter`);
      template = { query, slots };
    }
    const { query, slots } = template;
    const parameters = query.parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p));
    const result = await db.executeQuery<R>({ ...query, parameters });
    return result.rows;
  };
}

/** `compiledOnce` for a statement whose text depends on a shape (the creation's, a move's): one
 * compiled statement per shape, found by its `key`; `build` gets the shape and a marker for each
 * value a call binds. */
export function compiledPerShape<S, R>(build: (shape: S, markers: unknown[]) => RawBuilder<R>) {
  const statements = new Map<string, (db: Executor, ...values: unknown[]) => Promise<R[]>>();
  return (key: string, shape: S, db: Executor) => {
    let statement = statements.get(key);
    if (!statement) {
      statement = compiledOnce((...markers: unknown[]) => ({ compile: () => build(shape, markers).compile(db) }));
      statements.set(key, statement);
    }
    return statement;
  };
}

/** The INSERT of one row into `table`, compiled once with every one of `columns` a parameter: a
 * row written on every request (a creation's transaction and its history) skips building and
 * compiling the statement, about 12 µs each. Every column is written: one the row leaves out is
 * NULL, not the column's default. */
export function compiledInsert<T extends keyof Tables>(db: Executor, table: T, columns: ReadonlyArray<keyof Insertable<Tables[T]> & string>) {
  const insert = compiledOnce((...values: unknown[]) =>
    db.insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, values[i]])) as unknown as Insertable<Tables[T]>),
  );
  return (executor: Executor, row: Insertable<Tables[T]>) => insert(executor, ...columns.map((c) => (row as Record<string, unknown>)[c] ?? null));
}
