/**
 * Checked API keys and device tokens are answered from memory, for long; a revocation or a rotation
 * reaches that memory at once on the instance that made it and within a second everywhere else:
 * another server instance on the same PostgreSQL database, or a server on the SQLite file the admin
 * CLI (a process of its own) writes to.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { hashSecret } from '../../src/secrets.js';
import { LISTENER_NAME } from '../../src/services/postgres-notifier.js';
import { merchantApi } from '../support/http.js';
import { onboard, type OnboardedCustomer } from '../support/platform.js';
import { createTestDatabase, describeEachStore, type TestDatabase } from '../support/stores.js';
import { deviceApi } from '../support/terminal.js';
import { BIN, ROOT } from '../simulator/process.js';

const exec = promisify(execFile);

describeEachStore('revocation and rotation reach every cache of checked secrets', (dialect) => {
  let db: TestDatabase;
  let second: Database | undefined;
  /** The instances serving the database: two on PostgreSQL, one on SQLite (a single-instance store). */
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    // an hour: anything seen sooner came by notification, not by the cache running out
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, AUTH_CACHE_MS: '3600000' });
    apps.push(await buildApp({ config, store: db.store }));
    if (dialect === 'postgres') {
      second = openDatabase(db.url);
      apps.push(await buildApp({ config, store: second }));
    }
    await Promise.all(apps.map((app) => app.ready()));
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await second?.close();
    await db?.drop();
  });

  const status = async (app: FastifyInstance, apiKey: string) => (await merchantApi(app, apiKey)('GET', '/stores')).statusCode;
  const deviceStatus = async (app: FastifyInstance, token: string) => (await deviceApi(app, token).config()).statusCode;

  /** Milliseconds until `probe` answers `expected`, polling; fails after 3 s. */
  const until = async (expected: number, probe: () => Promise<number>) => {
    const started = Date.now();
    for (;;) {
      const got = await probe();
      if (got === expected) return Date.now() - started;
      if (Date.now() - started > 3_000) throw new Error(`still ${got} after 3 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const admin = async (...argv: string[]) => {
    const { stdout } = await exec(process.execPath, [BIN, 'admin', ...argv, '--json'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url } });
    return JSON.parse(stdout);
  };

  /** A customer whose first key and terminal's token every instance has checked (and keeps), and a
   * second lasting key to revoke the first with. */
  const warmCustomer = async (): Promise<OnboardedCustomer & { second: { id: number; apikey: string } }> => {
    const c = await onboard(apps[0]!);
    const r = await apps[0]!.platform.apiKeys.issue(c.customerId, 'second');
    if (!r.ok) throw new Error(r.detail);
    for (const app of apps) {
      expect(await status(app, c.apiKey)).toBe(200);
      expect(await deviceStatus(app, c.terminals[0]!.deviceToken)).toBe(200);
    }
    return { ...c, second: r.value };
  };

  it('answers a checked key from memory: a change made behind the platform\'s back goes unseen', async () => {
    const c = await warmCustomer();
    await db.store.db.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', c.keyId).execute();
    for (const app of apps) expect(await status(app, c.apiKey)).toBe(200);
    await db.store.db.updateTable('api_keys').set({ revoked_at: null }).where('id', '=', c.keyId).execute();
  });

  it('stops a revoked key at once on the instance that revoked it, and within 1 s on the others', async () => {
    const c = await warmCustomer();
    const revoked = await merchantApi(apps[0]!, c.second.apikey)('DELETE', `/apikeys/${c.keyId}`);
    expect(revoked.statusCode).toBe(204);
    expect(await status(apps[0]!, c.apiKey)).toBe(403);
    for (const app of apps.slice(1)) expect(await until(403, () => status(app, c.apiKey))).toBeLessThan(1_000);
    for (const app of apps) expect(await status(app, c.second.apikey)).toBe(200);
  });

  it('stops a key the admin CLI revokes, and a device token it rotates, within 1 s on every instance', async () => {
    const c = await warmCustomer();
    expect(await admin('apikey', 'revoke', '--customer', String(c.customerId), '--id', String(c.keyId))).toEqual({ id: c.keyId, revoked: true });
    for (const app of apps) expect(await until(403, () => status(app, c.apiKey))).toBeLessThan(1_000);

    const rotated = await admin('terminal', 'rotate-token', '--id', c.terminals[0]!.id);
    expect(rotated).toEqual({ id: c.terminals[0]!.id, device_token: expect.stringMatching(/^cpos_dev_/) });
    for (const app of apps) {
      expect(await until(403, () => deviceStatus(app, c.terminals[0]!.deviceToken))).toBeLessThan(1_000);
      expect(await deviceStatus(app, rotated.device_token)).toBe(200);
    }
    for (const app of apps) expect(await status(app, c.second.apikey)).toBe(200);
  });

  it.runIf(dialect === 'postgres')('forgets every checked secret when its listening connection is lost, and listens again', async () => {
    const c = await warmCustomer();
    const adminClient = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await adminClient.connect();
    try {
      const listeners = async () =>
        (await adminClient.query('select pid from pg_stat_activity where datname = $1 and application_name = $2', [new URL(db.url).pathname.slice(1), LISTENER_NAME])).rows.length;
      expect(await listeners()).toBe(apps.length);
      await adminClient.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2', [new URL(db.url).pathname.slice(1), LISTENER_NAME]);
      // Revoked with no notification at all: only forgetting on the lost connection can reveal it.
      await db.store.db.updateTable('api_keys').set({ revoked_at: Date.now() }).where('key_hash', '=', hashSecret(c.apiKey)).execute();
      for (const app of apps) await until(403, () => status(app, c.apiKey));
      await expect.poll(listeners, { timeout: 5_000 }).toBe(apps.length);
      // listening again: a revocation made elsewhere arrives by notification once more
      for (const app of apps) expect(await status(app, c.second.apikey)).toBe(200);
      const third = await apps[0]!.platform.apiKeys.issue(c.customerId, 'third');
      if (!third.ok) throw new Error(third.detail);
      expect(await merchantApi(apps[0]!, third.value.apikey)('DELETE', `/apikeys/${c.second.id}`).then((r) => r.statusCode)).toBe(204);
      for (const app of apps) expect(await until(403, () => status(app, c.second.apikey))).toBeLessThan(1_000);
    } finally {
      await adminClient.end();
    }
  });
});
