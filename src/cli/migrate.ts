import { Migrator } from 'kysely';
import type { Config } from '../config.js';
import { migrateToLatest, openDatabase, type Database } from '../db/database.js';
import { explainDatabaseFailure } from '../db/failures.js';
import { migrationProvider } from '../db/migrations.js';
import { describeDatabase } from '../db/url.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../main.js';

/** `cloudpos migrate [--json]`: applies the migrations the database has not applied. */
export async function runMigrate(options: { json: boolean }, config: Config, io: Io): Promise<number> {
  const database = describeDatabase(config.DATABASE_URL);
  io.err(`using ${database}`);
  let store: Database | undefined;
  try {
    store = openDatabase(config.DATABASE_URL, { poolSize: 1, announcesChanges: false, preparedStatements: config.PG_PREPARED_STATEMENTS });
    const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
    const before = await migrator.getMigrations();
    await migrateToLatest(store);
    const after = await migrator.getMigrations();
    const applied = before.filter((m) => m.executedAt === undefined).map((m) => m.name);
    const missing = after.filter((m) => m.executedAt === undefined).map((m) => m.name);
    if (missing.length > 0) throw new Error(`migrations still pending after migrating: ${missing.join(', ')}`);
    // Applied by another process meanwhile counts as applied: what matters is the state now.
    if (options.json) io.out(JSON.stringify({ database, applied, migrations: after.map((m) => m.name) }));
    else io.out(applied.length > 0 ? applied.map((name) => `applied ${name}`).join('\n') : `already up to date (${after.length} migrations)`);
    return EXIT.OK;
  } catch (e) {
    throw explainDatabaseFailure(e, config.DATABASE_URL) ?? e;
  } finally {
    await store?.close().catch(() => {});
  }
}
