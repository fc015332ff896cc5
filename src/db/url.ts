import { resolve } from 'node:path';

/** The schemes DATABASE_URL may use, as an operator would write them. */
export const DATABASE_SCHEMES = 'sqlite:PATH (a SQLite file) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (postgresql:// too)';

export function isSqliteUrl(url: string): boolean {
  return url.startsWith('sqlite:');
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The SQLite file a `sqlite:PATH` URL names, resolved against the working directory
 * (undefined for an in-memory database). */
export function sqliteFileOf(url: string): string | undefined {
  const path = url.slice('sqlite:'.length);
  return path === '' || path === ':memory:' ? undefined : resolve(path);
}

/** A URL's password replaced by `***`: what may be printed of a connection string. */
export function maskPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
}

/** The same URL without its password: a command to copy that takes it from PGPASSWORD or
 * ~/.pgpass instead of printing it. */
export function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1@');
}

/** How a command names the database it acts on: the URL (password masked), and for SQLite the
 * absolute path, so that a relative path from another directory is seen at once. */
export function describeDatabase(url: string): string {
  if (!isSqliteUrl(url)) return maskPassword(url);
  const file = sqliteFileOf(url);
  return file === undefined ? 'an in-memory SQLite database' : `sqlite:${file}`;
}
