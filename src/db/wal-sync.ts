/** The fsync of SQLite's write-ahead log, made in libuv's thread pool instead of on the event loop
 * (sqlite-driver.ts). At synchronous = FULL, SQLite syncs the log inside every COMMIT: the thread
 * that serves the API waited for the disk there, a third of a millisecond a commit on this
 * project's machines. At NORMAL, it writes a commit's frames without syncing them (it still syncs
 * the log's header when the log starts over, and the log and database around each checkpoint);
 * the frames are then durable once the log file is synced, which is what FULL's sync does. */
import { closeSync, fdatasync, openSync } from 'node:fs';

export type Fdatasync = (fd: number, done: (e: NodeJS.ErrnoException | null) => void) => void;

export class WalSync {
  private fd: number | undefined;
  /** The sync under way (one at a time: nothing that could commit runs meanwhile). */
  private pending: Promise<void> | undefined;
  /** Why nothing may run on the database any more: a sync failed, so what the log holds is
   * committed for SQLite and not for the clients, who were told it failed. A restart finds
   * whatever the disk kept. */
  private broken: Error | undefined;

  constructor(
    /** the log's file: the database's path with `-wal` */
    private readonly file: string,
    private readonly fdatasyncOf: Fdatasync = fdatasync,
  ) {}

  /** Syncs what has been written to the log so far; rejects if that fails, and so does everything after. */
  run(): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      const failed = (e: unknown) => {
        this.broken = Object.assign(new Error(`the write-ahead log could not be synced: ${(e as Error).message}`, { cause: e }), { code: 'SQLITE_IOERR_FSYNC' });
        resolve();
      };
      try {
        // Opened at the first sync: SQLite creates the file with its first write.
        this.fd ??= openSync(this.file, 'r');
        this.fdatasyncOf(this.fd, (e) => (e ? failed(e) : resolve()));
      } catch (e) {
        failed(e);
      }
    });
    this.pending = ended;
    return ended.then(() => {
      if (this.pending === ended) this.pending = undefined;
      if (this.broken) throw this.broken;
    });
  }

  /** Before anything runs on the database: undefined when no sync is under way (no promise to
   * wait for), else one that resolves when it ends; rejected once a sync has failed. */
  settled(): Promise<void> | undefined {
    if (this.broken) return Promise.reject(this.broken);
    return this.pending?.then(() => {
      if (this.broken) throw this.broken;
    });
  }

  close() {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
