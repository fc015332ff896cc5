import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, sql, type Transaction } from 'kysely';
import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { GroupCommitSqliteDialect, withoutOwnSync } from '../../src/db/sqlite-driver.js';
import { createTestDatabase } from '../support/stores.js';

describe.skipIf(!inject('pgAvailable'))('the PostgreSQL pool [postgres]', () => {
  const backends = async (url: string) => {
    const name = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    try {
      const r = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
      return r.rows.map((row) => row.pid);
    } finally {
      await admin.end();
    }
  };

  it('survives the server ending its idle connections, and reports it', async () => {
    const db = await createTestDatabase('postgres');
    const errors: Error[] = [];
    const store = openDatabase(db.url, { poolSize: 4, onIdleError: (e) => errors.push(e) });
    try {
      await Promise.all([1, 2, 3, 4].map(() => sql`select pg_sleep(0.05)`.execute(store.db)));
      const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
      await admin.connect();
      const held = store.pool!().total;
      expect(held).toBe(4);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [new URL(db.url).pathname.slice(1)]);
      await admin.end();
      // Every idle connection's end is reported (and the pool lets it go) before the next query:
      // one still idle and not yet told would take that query.
      await expect.poll(() => errors.length).toBe(held);
      // The server's own word (57P01, admin shutdown), or, when the socket's end is read before
      // that message, the driver's: either is the server ending the connection.
      expect(errors.every((e) => (e as Error & { code?: string }).code === '57P01' || /Connection terminated unexpectedly/.test(e.message))).toBe(true);
      // the pool let those clients go: the next query opens a new connection
      const r = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      expect(r.rows[0]!.one).toBe(1);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('is closed only once every connection has ended, so dropping the database hurts nobody', async () => {
    const db = await createTestDatabase('postgres');
    const store = openDatabase(db.url, { poolSize: 6 });
    await Promise.all([1, 2, 3, 4, 5, 6].map(() => sql`select pg_sleep(0.05)`.execute(store.db)));
    expect((await backends(db.url)).length).toBeGreaterThanOrEqual(6);
    await store.close();
    // the server may take a moment to retire a backend whose client has gone, but no client is left
    // to hear a 57P01 when the database is dropped WITH (FORCE) right now
    await db.drop();
  });
});

describe('the SQLite connection [sqlite]', () => {
  it('serves the queries queued behind a transaction in the order they were asked, the next transaction in its turn', async () => {
    const db = await createTestDatabase('sqlite');
    const store = openDatabase(db.url);
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const order: string[] = [];
      const first = store.db.transaction().execute(async (tx) => {
        await sql`select 1`.execute(tx);
        await held;
        order.push('first transaction');
      });
      await new Promise((r) => setImmediate(r));
      const queued = Array.from({ length: 200 }, (_, i) =>
        (i === 100
          ? store.db.transaction().execute(async (tx) => {
              await sql`select 1`.execute(tx);
              await new Promise((r) => setImmediate(r));
              order.push('second transaction');
            })
          : sql<{ n: number }>`select ${i} as n`.execute(store.db).then((r) => void order.push(`query ${r.rows[0]!.n}`))),
      );
      expect(order).toEqual([]);
      release();
      await Promise.all([first, ...queued]);
      expect(order).toEqual(['first transaction', ...Array.from({ length: 200 }, (_, i) => (i === 100 ? 'second transaction' : `query ${i}`))]);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  describe('commits the transactions that end together in one group', () => {
    const withTable = async (body: (db: Kysely<any>) => Promise<void>) => {
      const file = await createTestDatabase('sqlite');
      const store = openDatabase(file.url);
      const db = store.db as unknown as Kysely<any>;
      try {
        await sql`create table t (v text not null)`.execute(db);
        await body(db);
      } finally {
        await store.close();
        await file.drop();
      }
    };
    const values = async (db: Kysely<any>) => (await db.selectFrom('t').select('v').orderBy('v').execute()).map((r) => r.v as string);

    it('acknowledges none before the group is committed; a select outside them sees none of it before', async () => {
      await withTable(async (db) => {
        const order: string[] = [];
        const first = db.transaction().execute(async (tx) => {
          await tx.insertInto('t').values({ v: 'a' }).execute();
        });
        void first.then(() => order.push('first acknowledged'));
        const second = db.transaction().execute(async (tx) => {
          // The first has committed into the group, which has not committed yet.
          order.push('second runs');
          expect(await values(tx)).toEqual(['a']);
          expect(await values(db)).toEqual([]);
          await tx.insertInto('t').values({ v: 'b' }).execute();
        });
        void second.then(() => order.push('second acknowledged'));
        await Promise.all([first, second]);
        expect(order).toEqual(['second runs', 'first acknowledged', 'second acknowledged']);
        expect(await values(db)).toEqual(['a', 'b']);
      });
    });

    it('undoes a transaction that fails alone, and commits the rest of its group', async () => {
      await withTable(async (db) => {
        const insert = (v: string, fail = false) =>
          db.transaction().execute(async (tx) => {
            await tx.insertInto('t').values({ v }).execute();
            if (fail) throw new Error(`${v} fails`);
          });
        const results = await Promise.allSettled([insert('a'), insert('b', true), insert('c')]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await values(db)).toEqual(['a', 'c']);
      });
    });

    it('commits a group whose every transaction is marked without an fsync of its own at synchronous NORMAL, any other at FULL', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cloudpos-sync-'));
      const sqlite = new SQLite(join(dir, 'db.sqlite'));
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = FULL');
      // What the driver runs, and the synchronous level each COMMIT ran at.
      const commits: number[] = [];
      const prepare = sqlite.prepare.bind(sqlite);
      sqlite.prepare = ((text: string) => {
        const statement = prepare(text);
        if (text !== 'commit') return statement;
        const run = statement.run.bind(statement);
        return Object.assign(statement, {
          run: (...args: unknown[]) => {
            commits.push(sqlite.pragma('synchronous', { simple: true }) as number);
            return run(...args);
          },
        });
      }) as typeof sqlite.prepare;
      const db = new Kysely<any>({ dialect: new GroupCommitSqliteDialect(sqlite) });
      try {
        await sql`create table t (v text not null)`.execute(db);
        const write = async (tx: Transaction<any>, v: string) => void (await tx.insertInto('t').values({ v }).execute());
        const insert = (v: string, relaxed: boolean) => (relaxed ? withoutOwnSync(db, (tx) => write(tx, v)) : db.transaction().execute((tx) => write(tx, v)));
        await Promise.all([insert('a', true), insert('b', true)]);
        expect(commits).toEqual([1]);
        // A marked one joins a durable group; a durable one does not join a marked group, which commits first.
        await Promise.all([insert('c', false), insert('d', true)]);
        expect(commits).toEqual([1, 2]);
        await Promise.all([insert('e', true), insert('f', false), insert('g', true)]);
        expect(commits).toEqual([1, 2, 1, 2]);
        // The level is back, and every change is there.
        expect(sqlite.pragma('synchronous', { simple: true })).toBe(2);
        expect((await db.selectFrom('t').select('v').orderBy('v').execute()).map((r) => r.v)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      } finally {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('fails every transaction of a group whose commit fails, and keeps none of their changes', async () => {
      await withTable(async (db) => {
        await sql`create table parent (id integer primary key)`.execute(db);
        await sql`create table child (parent_id integer not null references parent (id))`.execute(db);
        // A foreign key checked at the group's COMMIT, not at the statement: the COMMIT fails.
        const broken = db.transaction().execute(async (tx) => {
          await sql`pragma defer_foreign_keys = on`.execute(tx);
          await tx.insertInto('child').values({ parent_id: 42 }).execute();
        });
        const innocent = db.transaction().execute(async (tx) => {
          await tx.insertInto('t').values({ v: 'b' }).execute();
        });
        const results = await Promise.allSettled([broken, innocent]);
        expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
        expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
        expect(await values(db)).toEqual([]);
        expect(await db.selectFrom('child').selectAll().execute()).toEqual([]);
        // The connection goes on.
        await db.transaction().execute((tx) => tx.insertInto('t').values({ v: 'c' }).execute());
        expect(await values(db)).toEqual(['c']);
      });
    });
  });
});
