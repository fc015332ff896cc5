import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './executor.js';

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
