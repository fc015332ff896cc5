import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { migrateToLatest, openDatabase, type Dialect, type Database } from '../../src/db/database.js';

export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  url: string;
  store: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own: a temporary SQLite file, or a new PostgreSQL database
 * that is dropped afterwards, so test files and runs never see each other's rows. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cloudpos-test-'));
    const url = `sqlite:${join(dir, 'test.sqlite')}`;
    const store = openDatabase(url);
    await migrateToLatest(store);
    return {
      url,
      store,
      drop: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const empty = await createPostgresDatabase('cloudpos_test');
  const store = openDatabase(empty.url, { poolSize: 10 });
  await migrateToLatest(store);
  return {
    url: empty.url,
    store,
    drop: async () => {
      await store.close();
      await empty.drop();
    },
  };
}

/** A new, empty PostgreSQL database of its own, dropped by `drop`. */
async function createPostgresDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs a block of tests once per store: SQLite always, PostgreSQL when it is there (see global-setup). */
export function describeEachStore(title: string, body: (dialect: Dialect) => void) {
  for (const dialect of DIALECTS) {
    const skip = dialect === 'postgres' && !inject('pgAvailable');
    describe.skipIf(skip)(`${title} [${dialect}]`, () => body(dialect));
  }
}

/** A database for the enclosing describe block. */
export function useTestDatabase(dialect: Dialect): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error('database not ready');
    return db;
  };
}

/** A database without any migration applied: a SQLite path whose file does not exist yet, or a new,
 * empty PostgreSQL database. `cloudpos migrate` and the start-up checks are tested on these. */
export async function createEmptyDatabase(dialect: Dialect): Promise<{ url: string; file?: string; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cloudpos-empty-'));
    const file = join(dir, 'empty.sqlite');
    return { url: `sqlite:${file}`, file, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  return createPostgresDatabase('cloudpos_empty');
}
