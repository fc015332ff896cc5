/**
 * Exit codes, sysexits(3)-style, so that a supervisor (systemd, a deploy script) can tell why the
 * process stopped without reading its output. The README's "Exit codes" lists them.
 */
export const EXIT = {
  OK: 0,
  /** a refused admin command, a failed check, a declined payment (`terminal run --once`) */
  FAILED: 1,
  /** EX_USAGE: a bad command line */
  USAGE: 64,
  /** EX_NOINPUT: the SQLite file DATABASE_URL names does not exist (admin without --create) */
  NO_INPUT: 66,
  /** EX_NOHOST: HOST does not resolve, or is not an address of this machine */
  NO_HOST: 68,
  /** EX_UNAVAILABLE: the database cannot be reached or does not exist */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: an unexpected error (a bug: the stack is printed) */
  SOFTWARE: 70,
  /** EX_TEMPFAIL: the port is taken by another process (try again once it is free) */
  PORT_IN_USE: 75,
  /** EX_NOPERM: not allowed to listen on the port (below 1024) */
  NO_PERMISSION: 77,
  /** EX_CONFIG: a bad setting, an unsupported DATABASE_URL, migrations behind in production */
  CONFIG: 78,
} as const;

/** An error that ends a command with one line on stderr and its exit code, never a stack trace. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}
