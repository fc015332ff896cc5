import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Finds out once whether PostgreSQL is there. Outside CI its tests skip with a notice; under
 * CI=true a missing PostgreSQL fails the run (.ci/run starts it). */
export default async function setup(project: TestProject) {
  let available = false;
  let reason = '';
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    available = true;
  } catch (e) {
    reason = (e as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
  if (!available) {
    const msg = `PostgreSQL is not reachable at ${ADMIN_URL} (${reason})`;
    if (process.env.CI === 'true') throw new Error(`${msg}: CI needs it for the store tests`);
    console.warn(`\n*** NOTICE: ${msg}: the PostgreSQL half of every store test is SKIPPED ***\n`);
  }
  project.provide('pgAvailable', available);
  project.provide('pgAdminUrl', ADMIN_URL);
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAvailable: boolean;
    pgAdminUrl: string;
  }
}
