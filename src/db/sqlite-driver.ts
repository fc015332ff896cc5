import { resolve } from 'node:path';
import type SQLite from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, SqliteAdapter, SqliteDialect, type DatabaseConnection, type Driver, type Kysely, type QueryResult, type Transaction } from 'kysely';
import { ConnectionTurns, run, StatementCache } from './sqlite-connection.js';
import { WalSync, type Fdatasync } from './wal-sync.js';

/**
 * SQLite for the platform: one writing connection, taken in turns, a second for reads, and
 * transactions committed in groups.
 *
 * A durable commit costs the pages the transaction changed written to the write-ahead log, and
 * an fsync of it: with a payment's rows and their indexes, half a millisecond, most of a
 * creation's cost. Transactions that end while others wait their turn, or in the same turn of the
 * event loop, are committed together:
 * - the first opens the group (BEGIN IMMEDIATE, the write lock); each transaction is a savepoint
 *   in it, released when it commits and undone alone when it rolls back;
 * - the group commits in the event loop's next check phase, or before any statement outside a
 *   transaction runs;
 * - a file in WAL mode opened at synchronous = FULL commits at NORMAL, and the log is synced
 *   after the COMMIT, off the event loop (wal-sync.ts): the thread that serves the API does not
 *   wait for the disk. Until that sync has ended, nothing runs on the database: no transaction
 *   begins and no statement outside one runs, on either connection. So nothing is seen, by a
 *   client or by another transaction, before it is durable, as at FULL;
 * - a transaction's commit resolves only once its group is durable, and a group that fails to
 *   commit fails each of its transactions. A sync that fails leaves the group's changes in the
 *   log, committed for SQLite and not for their clients: the connection refuses everything from
 *   then on, and a restart finds whatever the disk kept;
 * - records that may be lost with the machine (not with the process) are written in transactions
 *   marked by `withoutOwnSync`: a group of those alone is not synced; the next durable commit
 *   syncs the log with them in it;
 * - a statement outside a transaction never sees another's uncommitted changes. A select runs on
 *   a second connection, which sees what is committed, without waiting for a turn or a group (a
 *   database in memory has no second connection: its selects take turns like the rest); any
 *   other statement runs after the open group's COMMIT. Inside a transaction, the changes of the
 *   earlier members of its group are seen as if they had committed: if they do not, it does not
 *   either.
 */
export class GroupCommitSqliteDialect extends SqliteDialect {
  /** `reader`: a second connection to the same file, for the selects outside transactions. */
  /** `fdatasync`: how the log is synced (a test stands in for the disk). */
  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly reader?: SQLite.Database,
    private readonly fdatasync?: Fdatasync,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.sqlite, this.reader, this.fdatasync);
  }

  /** SQLite's DDL is transactional, which Kysely's adapter does not claim: with this, the migrator
   * applies every pending migration in one transaction (one durable commit instead of one per
   * statement, and a migration that fails leaves nothing half-done). Begun IMMEDIATE, it also makes a
   * second process starting on the same new file wait, then find everything applied. */
  override createAdapter() {
    return new TransactionalDdlSqliteAdapter();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** SQLite's synchronous levels: NORMAL does not sync the write-ahead log at a commit, FULL does. */
const NORMAL = 1;
const FULL = 2;

/** The savepoint that is one transaction of a group. */
const UNIT = 'cloudpos_tx';

/** Run on a connection before its transaction begins (see `withoutOwnSync`), this statement runs
 * nothing: it marks the transaction as one whose commit need not wait for the disk. */
export const WITHOUT_OWN_SYNC = "select 'cloudpos: commit without an fsync of its own'";

/** Runs `body` in a transaction (on SQLite's writing connection) whose commit need not wait for
 * the disk: it joins a group already open, or opens one that commits without an fsync, which a
 * transaction that must be durable does not join (it waits for that COMMIT, then opens its own).
 * What it writes survives the process ending, not the machine failing, until a later durable
 * commit syncs the log with it. For records that can be lost that way without harm, never for
 * anything a client is told is committed. SQLite only. */
export function withoutOwnSync<DB, T>(db: Kysely<DB>, body: (tx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    await connection.executeQuery(CompiledQuery.raw(WITHOUT_OWN_SYNC));
    return connection.transaction().execute(body);
  });
}

interface Member {
  resolve: () => void;
  reject: (e: unknown) => void;
}

class GroupCommitDriver implements Driver {
  readonly turns = new ConnectionTurns();
  private readonly statements: StatementCache;
  private readonly reads: StatementCache | undefined;
  /** The transactions released into the open group (BEGIN IMMEDIATE has run), awaiting its COMMIT. */
  private group: Member[] | undefined;
  /** A transaction of the open group is not marked WITHOUT_OWN_SYNC: the group is synced. */
  private durable = false;
  private flushScheduled = false;
  /** Syncs the log after a durable COMMIT; undefined where SQLite syncs at the COMMIT (or nothing
   * needs syncing: a database in memory, a level below FULL). */
  private readonly wal: WalSync | undefined;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly reader: SQLite.Database | undefined,
    fdatasync: Fdatasync | undefined,
  ) {
    this.statements = new StatementCache(sqlite);
    this.reads = reader && new StatementCache(reader);
    const wal = !sqlite.memory && String(sqlite.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (wal && (sqlite.pragma('synchronous', { simple: true }) as number) >= FULL) {
      sqlite.pragma(`synchronous = ${NORMAL}`);
      this.wal = new WalSync(`${resolve(sqlite.name)}-wal`, fdatasync);
    }
  }

  /** Before anything runs on the database: the sync under way, if any, has ended (WalSync.settled). */
  settled(): Promise<void> | undefined {
    return this.wal?.settled();
  }

  async init() {}

  /** The turn is taken by the first statement that needs the writing connection. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Lease(this);
  }

  async beginTransaction(lease: Lease) {
    await lease.turn();
    const settled = this.settled();
    if (settled) await settled;
    if (!this.group) {
      // The write lock, waited for under busy_timeout. A deferred transaction that reads and then
      // writes while another process (the admin CLI, a second server) holds the lock would fail at
      // once with SQLITE_BUSY instead of waiting.
      this.exec('begin immediate');
      this.group = [];
    }
    try {
      this.exec(`savepoint ${UNIT}`);
    } catch (e) {
      this.endIfEmpty();
      throw e;
    }
    lease.state = 'open';
  }

  async commitTransaction(lease: Lease) {
    this.exec(`release ${UNIT}`);
    lease.state = 'joined';
    if (!lease.withoutOwnSync) this.durable = true;
    const durable = new Promise<void>((resolve, reject) => this.group!.push({ resolve, reject }));
    // The next in line may go on while this one waits for the group's COMMIT.
    this.hand(lease);
    this.scheduleFlush();
    await durable;
  }

  async rollbackTransaction(lease: Lease) {
    // Joined: its group's COMMIT failed, which ended the group and failed each of its members.
    if (lease.state !== 'open') return;
    lease.state = 'none';
    if (this.sqlite.inTransaction) {
      this.exec(`rollback to ${UNIT}`);
      this.exec(`release ${UNIT}`);
      this.endIfEmpty();
      return;
    }
    // SQLite ended the whole transaction on this one's error (a full disk, an I/O error): what
    // the group held is gone with it.
    const lost = this.group ?? [];
    this.group = undefined;
    this.durable = false;
    const e = Object.assign(new Error('the commit of this transaction was undone by an error of another in its group'), { code: 'SQLITE_ABORT' });
    for (const member of lost) member.reject(e);
  }

  async releaseConnection(lease: Lease) {
    this.hand(lease);
  }

  async destroy() {
    await this.turns.take();
    try {
      this.flush();
      await this.settled()?.catch(() => {});
    } finally {
      this.wal?.close();
      this.reader?.close();
      this.sqlite.close();
    }
  }

  /** The statement outside a transaction, if it is a select and there is a second connection to
   * run it on; otherwise undefined, and it needs the turn. */
  readOutside(lease: Lease, query: CompiledQuery): SQLite.Statement | undefined {
    if (!this.reads || lease.state !== 'none' || !SelectQueryNode.is(query.query)) return undefined;
    const statement = this.reads.get(query.sql);
    return statement.reader && statement.readonly ? statement : undefined;
  }

  /** A statement on a lease holding the turn: one outside a transaction runs once the open group
   * has committed and been synced, and is synced itself if it wrote. */
  execute<R>(lease: Lease, query: CompiledQuery): QueryResult<R> | Promise<QueryResult<R>> {
    if (query.sql === WITHOUT_OWN_SYNC) {
      if (lease.state !== 'none') throw new Error('a transaction is marked WITHOUT_OWN_SYNC before it begins');
      lease.withoutOwnSync = true;
      return { rows: [] };
    }
    if (lease.state !== 'none') return run<R>(this.statements.get(query.sql), query);
    const settled = this.outside();
    return settled ? settled.then(() => this.alone<R>(query)) : this.alone<R>(query);
  }

  /** A statement in a transaction of its own (SQLite's autocommit), durable when it returns. */
  private alone<R>(query: CompiledQuery): QueryResult<R> | Promise<QueryResult<R>> {
    const statement = this.statements.get(query.sql);
    const result = run<R>(statement, query);
    if (!this.wal || statement.reader) return result;
    return this.wal.run().then(() => result);
  }

  /** Before a statement outside a transaction: the open group commits, and its sync ends. */
  outside(): Promise<void> | undefined {
    this.flush();
    return this.settled();
  }

  *stream<R>(lease: Lease, query: CompiledQuery): IterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('SQLite streams select queries only');
    for (const row of this.statements.get(query.sql).iterate(query.parameters)) yield { rows: [row as R] };
  }

  private exec(sql: string) {
    this.statements.get(sql).run();
  }

  /** The lease's turn, if it has it, goes to the next in line. */
  private hand(lease: Lease) {
    if (lease.hasTurn) {
      lease.hasTurn = false;
      this.turns.give();
    }
  }

  /** An open group with no member (its one transaction rolled back) ends at once: the write lock
   * is not held for nothing. */
  private endIfEmpty() {
    if (this.group?.length !== 0) return;
    this.group = undefined;
    this.durable = false;
    if (this.sqlite.inTransaction) this.exec('rollback');
  }

  /** The group commits in the next check phase, in its turn: what ends before then joins it. */
  private scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      void (async () => {
        await this.turns.take();
        this.flushScheduled = false;
        try {
          this.flush();
        } finally {
          this.turns.give();
        }
      })();
    });
  }

  /** COMMITs the open group, if any, and settles its members once it is durable. Called holding the turn. */
  private flush() {
    const members = this.group;
    if (!members) return;
    const durable = this.durable;
    this.group = undefined;
    this.durable = false;
    try {
      this.exec('commit');
    } catch (e) {
      try {
        if (this.sqlite.inTransaction) this.exec('rollback');
      } catch {
        // the connection is unusable; the next statement says so
      }
      for (const member of members) member.reject(e);
      return;
    }
    if (!this.wal || !durable) {
      for (const member of members) member.resolve();
      return;
    }
    this.wal.run().then(
      () => members.forEach((member) => member.resolve()),
      (e: unknown) => members.forEach((member) => member.reject(e)),
    );
  }
}

/** One holder's use of the connection, from acquiring it to releasing it. */
class Lease implements DatabaseConnection {
  /** 'open': inside its transaction; 'joined': committed into the group, awaiting its COMMIT. */
  state: 'none' | 'open' | 'joined' = 'none';
  hasTurn = false;
  /** its transaction was marked WITHOUT_OWN_SYNC */
  withoutOwnSync = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  async turn() {
    if (this.hasTurn) return;
    await this.driver.turns.take();
    this.hasTurn = true;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const read = this.driver.readOutside(this, query);
    if (read) {
      const settled = this.driver.settled();
      if (settled) await settled;
      return run<R>(read, query);
    }
    await this.turn();
    return this.driver.execute<R>(this, query);
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    await this.turn();
    if (this.state === 'none') await this.driver.outside();
    yield* this.driver.stream<R>(this, query);
  }
}
