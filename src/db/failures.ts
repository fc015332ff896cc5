import { EXIT, ExitError } from '../exit-codes.js';
import { describeDatabase, isPostgresUrl } from './url.js';

/** The SQLite file DATABASE_URL names does not exist, and the command was not asked to create it. */
export class DatabaseMissingError extends Error {
  constructor(readonly file: string) {
    super(`no SQLite database at ${file}`);
    this.name = 'DatabaseMissingError';
  }
}

/** No connection to PostgreSQL could be had: opening one took longer than its connect timeout,
 * or the server ended it while it was being opened (the driver gives those no code). */
export class DatabaseUnreachableError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(cause: unknown) {
    super(`no connection to the database: ${(cause as { message?: unknown } | null)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnreachableError';
  }
}

/** Network and server-state codes that mean the database cannot serve right now (not that the
 * request was wrong): connection refused, reset or timed out, the server shutting down or full,
 * PostgreSQL's connection exceptions (class 08), SQLite's lock still held after busy_timeout. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300', 'SQLITE_BUSY']);

/** Whether `e` says the database is unreachable or busy now: a 503, not a 500. */
export function isDatabaseUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'));
}

/**
 * A failure to reach or open the database, as one line naming the database (password masked) and
 * what to do, with its exit code; undefined for anything else (a bug, shown with its stack).
 * Recognised by the drivers' codes, never by their messages.
 */
export function explainDatabaseFailure(e: unknown, url: string): ExitError | undefined {
  const err = e as { code?: unknown; message?: unknown; errors?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const where = describeDatabase(url);
  const reason = typeof err?.message === 'string' && err.message !== '' ? err.message.split('\n')[0] : code;
  if (e instanceof DatabaseMissingError) {
    return new ExitError(`no SQLite database at ${e.file} (DATABASE_URL=${url}): check the path, or pass --create to create a new one`, EXIT.NO_INPUT);
  }
  if (isPostgresUrl(url)) {
    if (e instanceof DatabaseUnreachableError) {
      return new ExitError(`cannot reach PostgreSQL at ${where} (${reason}): is it running, and are host and port right? (DATABASE_URL; connect_timeout in it sets how long to wait)`, EXIT.UNAVAILABLE);
    }
    // A host with several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError.
    const inner = Array.isArray(err?.errors) ? (err.errors[0] as { code?: unknown } | undefined) : undefined;
    const netCode = code ?? (typeof inner?.code === 'string' ? inner.code : undefined);
    if (netCode && ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE'].includes(netCode)) {
      return new ExitError(`cannot reach PostgreSQL at ${where} (${netCode}): is it running, and are host and port right? (DATABASE_URL)`, EXIT.UNAVAILABLE);
    }
    if (netCode === 'ENOTFOUND' || netCode === 'EAI_AGAIN') {
      return new ExitError(`the PostgreSQL host in ${where} does not resolve (${netCode}) (DATABASE_URL)`, EXIT.UNAVAILABLE);
    }
    if (code === '3D000') {
      const name = new URL(url).pathname.slice(1) || '(none)';
      return new ExitError(`PostgreSQL has no database "${name}" at ${where}: create it (createdb ${name}) or fix DATABASE_URL`, EXIT.UNAVAILABLE);
    }
    if (code === '28P01' || code === '28000') {
      return new ExitError(`PostgreSQL refused the credentials in ${where} (${reason}) (DATABASE_URL)`, EXIT.CONFIG);
    }
    if (code === '57P03' || code === '53300') {
      return new ExitError(`PostgreSQL at ${where} does not accept connections now (${reason})`, EXIT.UNAVAILABLE);
    }
    return undefined;
  }
  // SQLite: a file that cannot be opened or created, or that is not a database.
  if (code && (code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_NOTADB' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM' || ['EACCES', 'ENOTDIR', 'EROFS', 'EEXIST', 'ENOENT', 'EISDIR'].includes(code))) {
    return new ExitError(`cannot open the SQLite database ${where} (${reason}) (DATABASE_URL)`, EXIT.UNAVAILABLE);
  }
  return undefined;
}
