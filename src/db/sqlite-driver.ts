import type SQLite from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, SqliteAdapter, SqliteDialect, type DatabaseConnection, type Driver, type Kysely, type QueryResult, type Transaction } from 'kysely';
import { ConnectionTurns, run, StatementCache } from './sqlite-connection.js';

/**
 * SQLite for the platform: one writing connection, taken in turns, a second for reads, and
 * transactions committed in groups.
 *
 * A durable commit costs an fsync of the write-ahead log, and the pages the transaction changed
 * written to it: with a payment's rows and their indexes, half a millisecond, most of a creation's
 * cost, on the one thread that also serves the API. Transactions that end while others wait
 * their turn, or in the same turn of the event loop, are committed together:
 * - the first opens the group (BEGIN IMMEDIATE, the write lock); each transaction is a savepoint
 *   in it, released when it commits and undone alone when it rolls back;
 * - the group commits (one fsync) in the event loop's next check phase, or before any statement
 *   outside a transaction runs;
 * - a transaction's commit resolves only once its group's COMMIT has returned, so nothing is
 *   acknowledged before it is durable, and a group that fails to commit fails each of its
 *   transactions;
 * - records that may be lost with the machine (not with the process) are written in transactions
 *   marked by `withoutOwnSync`: their groups commit at synchronous = NORMAL, without an fsync, and
 *   a durable transaction never joins one (that group commits first); the next durable commit
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
  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly reader?: SQLite.Database,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.sqlite, this.reader);
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

/** SQLite's synchronous level that does not sync the write-ahead log at a commit (FULL, 2, does). */
const NORMAL = 1;

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
  /** The open group commits without an fsync: its transactions were marked WITHOUT_OWN_SYNC. */
  private relaxed = false;
  /** The connection's own synchronous level, as first read: set again after such a group. */
  private level: number | undefined;
  private flushScheduled = false;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly reader: SQLite.Database | undefined,
  ) {
    this.statements = new StatementCache(sqlite);
    this.reads = reader && new StatementCache(reader);
  }

  async init() {}

  /** The turn is taken by the first statement that needs the writing connection. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new Lease(this);
  }

  async beginTransaction(lease: Lease) {
    await lease.turn();
    // A durable transaction does not join a group that commits without an fsync: that group
    // commits first (its members are all joined: a transaction holds the turn until it commits).
    if (this.group && this.relaxed && !lease.withoutOwnSync) this.flush();
    if (!this.group) {
      if (lease.withoutOwnSync) {
        // SQLite takes a new level only outside a transaction.
        this.relaxed = true;
        this.level ??= this.sqlite.pragma('synchronous', { simple: true }) as number;
        if (this.level > NORMAL) this.exec(`pragma synchronous = ${NORMAL}`);
      }
      try {
        // The write lock, waited for under busy_timeout. A deferred transaction that reads and then
        // writes while another process (the admin CLI, a second server) holds the lock would fail at
        // once with SQLITE_BUSY instead of waiting.
        this.exec('begin immediate');
      } catch (e) {
        this.restoreLevel();
        throw e;
      }
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
    this.restoreLevel();
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
    } finally {
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

  /** A statement on a lease holding the turn: one outside a transaction runs after the open group's COMMIT. */
  execute<R>(lease: Lease, query: CompiledQuery): QueryResult<R> {
    if (query.sql === WITHOUT_OWN_SYNC) {
      if (lease.state !== 'none') throw new Error('a transaction is marked WITHOUT_OWN_SYNC before it begins');
      lease.withoutOwnSync = true;
      return { rows: [] };
    }
    if (lease.state === 'none') this.flush();
    return run<R>(this.statements.get(query.sql), query);
  }

  *stream<R>(lease: Lease, query: CompiledQuery): IterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('SQLite streams select queries only');
    if (lease.state === 'none') this.flush();
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
    if (this.sqlite.inTransaction) this.exec('rollback');
    this.restoreLevel();
  }

  /** After a group that committed without an fsync: the connection's own level again. */
  private restoreLevel() {
    if (!this.relaxed) return;
    this.relaxed = false;
    if (this.level! > NORMAL) this.exec(`pragma synchronous = ${this.level}`);
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

  /** COMMITs the open group, if any, and settles its members. Called holding the turn. */
  private flush() {
    const members = this.group;
    if (!members) return;
    this.group = undefined;
    try {
      this.exec('commit');
    } catch (e) {
      try {
        if (this.sqlite.inTransaction) this.exec('rollback');
        this.restoreLevel();
      } catch {
        // the connection is unusable; the next statement says so
      }
      for (const member of members) member.reject(e);
      return;
    }
    this.restoreLevel();
    for (const member of members) member.resolve();
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
    if (read) return run<R>(read, query);
    await this.turn();
    return this.driver.execute<R>(this, query);
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    await this.turn();
    yield* this.driver.stream<R>(this, query);
  }
}
