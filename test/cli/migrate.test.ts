import { existsSync } from 'node:fs';
import { Migrator } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { openDatabase, type Dialect } from '../../src/db/database.js';
import { pendingMigrations } from '../../src/db/migration-status.js';
import { migrationProvider } from '../../src/db/migrations.js';
import { spawnCloudpos, type Spawned } from '../simulator/process.js';
import { createEmptyDatabase, describeEachStore } from '../support/stores.js';
import { cloudpos } from './run.js';

const PRODUCTION = { CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: '6e0d669c74f257f7c28f584622d02f4ca9c1527c3f857b199b9062bd10eb767d', LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1' };

/** Every migration this version knows, oldest first. */
async function allMigrations(dialect: Dialect): Promise<string[]> {
  return Object.keys(await migrationProvider(dialect).getMigrations()).sort();
}

/** Applies the migrations up to and including `name` only: a database an older version left. */
async function migrateUpTo(url: string, name: string) {
  const store = openDatabase(url);
  try {
    const { error } = await new Migrator({ db: store.db, provider: migrationProvider(store.dialect) }).migrateTo(name);
    if (error) throw error;
  } finally {
    await store.close();
  }
}

async function pendingOf(url: string) {
  const store = openDatabase(url);
  try {
    return await pendingMigrations(store);
  } finally {
    await store.close();
  }
}

describeEachStore('cloudpos migrate', (dialect) => {
  const running: Spawned[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
      await p.exit;
    }
  });

  it('applies every migration to a new database, then nothing; --json prints one object', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      const names = await allMigrations(dialect);
      const first = await cloudpos(['migrate', '--json'], { DATABASE_URL: db.url });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout.trim().split('\n')).toHaveLength(1);
      const json = JSON.parse(first.stdout);
      expect(json).toEqual({ database: expect.any(String), applied: names, migrations: names });
      expect(first.stderr).toMatch(/^using (sqlite|postgres):/);
      const again = await cloudpos(['migrate'], { DATABASE_URL: db.url });
      expect(again.code).toBe(0);
      expect(again.stdout.trim()).toBe(`already up to date (${names.length} migrations)`);
      expect(await pendingOf(db.url)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('production: serve refuses a database whose migrations are behind, naming cloudpos migrate; after it, serve starts', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      const names = await allMigrations(dialect);
      // A database without any migration: a new PostgreSQL database, or no SQLite file at all (and none is created).
      const none = await cloudpos(['serve'], { ...PRODUCTION, DATABASE_URL: db.url });
      expect(none.code, none.stderr).toBe(78);
      expect(none.stderr.trim().split('\n')).toHaveLength(1);
      expect(none.stderr).toContain('run `cloudpos migrate`');
      if (db.file) expect(existsSync(db.file)).toBe(false);

      // An older version's database: one migration behind.
      await migrateUpTo(db.url, names.at(-2)!);
      const behind = await cloudpos(['serve'], { ...PRODUCTION, DATABASE_URL: db.url });
      expect(behind.code).toBe(78);
      expect(behind.stderr.trim()).toMatch(new RegExp(`^the database .* is behind this version \\(1 migration not applied: ${names.at(-1)}\\): run \`cloudpos migrate\` first$`));
      expect(await pendingOf(db.url)).toEqual([names.at(-1)]); // serve changed nothing

      const migrate = await cloudpos(['migrate', '--json'], { ...PRODUCTION, DATABASE_URL: db.url });
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(JSON.parse(migrate.stdout).applied).toEqual([names.at(-1)]);

      const server = spawnCloudpos(['serve'], { ...PRODUCTION, DATABASE_URL: db.url });
      running.push(server);
      const [, base] = await server.waitFor(/listening on (http:\/\/\S+)/);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      await db.drop();
    }
  });

  it('the sandbox migrates at start', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      const names = await allMigrations(dialect);
      await migrateUpTo(db.url, names[0]!);
      const server = spawnCloudpos(['serve'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
      running.push(server);
      const [, base] = await server.waitFor(/listening on (http:\/\/\S+)/);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await pendingOf(db.url)).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});
