import { Migrator } from 'kysely';
import type { Database } from './database.js';
import { migrationProvider } from './migrations.js';

/** The migrations this version knows that the database has not applied, oldest first. */
export async function pendingMigrations(store: Database): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
