import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from './database.js';

/** `column` is one of a list of keys given as one parameter, whatever its length, so that the query
 * is compiled (and on PostgreSQL prepared) once: an array on PostgreSQL, JSON on SQLite. */
export function oneOf(dialect: Dialect, column: string, list: unknown): RawBuilder<boolean> {
  return dialect === 'postgres' ? sql<boolean>`${sql.ref(column)} = any(${list})` : sql<boolean>`${sql.ref(column)} in (select value from json_each(${list}))`;
}

/** The parameter `oneOf` takes for `keys`. */
export function keyList(dialect: Dialect, keys: Array<string | number>): unknown {
  return dialect === 'postgres' ? keys : JSON.stringify(keys);
}
