import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/database.js';
import type { Executor } from '../db/executor.js';
import type { Tables } from '../db/schema.js';

/** The PostgreSQL channel on which a revoked API key or a replaced device token is announced. */
export const AUTH_CHANNEL = 'cloudpos_auth';

/** What a cache of checked secrets hears: the hash of a secret that must no longer be trusted from
 * memory, or null when changes may have been missed (forget everything). */
export type AuthChangeListener = (secretHash: string | null) => void;

/** Revocations and rotations made by any process on the database: every server instance and the
 * admin CLI. */
export interface AuthChanges {
  watch(listener: AuthChangeListener): () => void;
  /** False while changes made elsewhere may go unheard: caches must not answer then. */
  readonly live: boolean;
  start?(): Promise<void>;
  close?(): Promise<void>;
}

/** Announces, inside the database transaction that revokes or replaces a secret, that its hash
 * (never the secret) must be dropped from every cache. PostgreSQL sends the notification at commit,
 * so no instance hears of a change that was rolled back. SQLite serves one instance, which drops
 * its own entry after the commit, and notices other processes' writes (SqliteAuthChanges). */
export async function announceAuthChange(db: Executor, dialect: Dialect, secretHash: string): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_notify(${AUTH_CHANNEL}, ${secretHash})`.execute(db);
}

/** On SQLite another process (the admin CLI) may revoke a key or rotate a token in the same file.
 * `PRAGMA data_version` changes on this connection exactly when another connection committed: then
 * every cached secret is forgotten, a few times a second at most. */
export class SqliteAuthChanges implements AuthChanges {
  readonly live = true;
  private readonly listeners = new Set<AuthChangeListener>();
  private timer: NodeJS.Timeout | undefined;
  private version: number | undefined;
  private checking = false;

  constructor(
    private readonly db: Kysely<Tables>,
    private readonly everyMs = 250,
  ) {}

  watch(listener: AuthChangeListener) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async start() {
    this.version = await this.read();
    this.timer = setInterval(() => void this.check(), this.everyMs);
    this.timer.unref();
  }

  private async read() {
    const r = await sql<{ data_version: number }>`pragma data_version`.execute(this.db);
    return Number(r.rows[0]?.data_version);
  }

  private async check() {
    if (this.checking) return;
    this.checking = true;
    try {
      const version = await this.read();
      if (version !== this.version) {
        this.version = version;
        for (const listener of this.listeners) listener(null);
      }
    } catch {
      // closing, or the file is busy: look again next time
    } finally {
      this.checking = false;
    }
  }

  async close() {
    clearInterval(this.timer);
    this.listeners.clear();
  }
}

/** Changes are only ever made by this process (tests, single-process tools). */
export class LocalAuthChanges implements AuthChanges {
  readonly live = true;
  watch() {
    return () => {};
  }
}
