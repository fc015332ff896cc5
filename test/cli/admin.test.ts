import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { runAdmin } from '../../src/cli/admin.js';
import { loadConfig } from '../../src/config.js';
import { merchantApi } from '../support/http.js';
import { createTestDatabase, describeEachStore, type TestDatabase } from '../support/stores.js';

const ROOT = resolve(import.meta.dirname, '../..');

describeEachStore('cloudpos admin', (dialect) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Runs one command in-process, capturing what it prints. */
  const admin = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAdmin(argv, loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };
  /** With --json: exactly one JSON object on stdout, and exit 0. */
  const json = async (...argv: string[]) => {
    const r = await admin(...argv, '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    const value = JSON.parse(lines[0]!);
    expect(value).toBeTypeOf('object');
    expect(Array.isArray(value)).toBe(false);
    return value;
  };

  it('onboards a customer with two merchants, stores and terminals, and issues a key that works over HTTP', async () => {
    const customer = await json('customer', 'create', '--name', 'Bakery Group');
    expect(customer).toMatchObject({ id: expect.any(Number) });
    const merchants = [];
    const stores: string[] = [];
    const terminals: string[] = [];
    for (const name of ['North', 'South']) {
      const merchant = await json('merchant', 'create', '--customer', String(customer.id), '--name', `Bakery ${name}`);
      expect(merchant).toMatchObject({ id: expect.any(Number) });
      merchants.push(merchant.id);
      const store = await json('store', 'create', '--merchant', String(merchant.id), '--name', `${name} Street`, '--timezone', 'Europe/Berlin', '--currency', 'EUR');
      expect(store).toMatchObject({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      stores.push(store.uuid);
      const serial = `PL${name.toUpperCase()}${dialect.length}${Date.now() % 100000}`;
      const terminal = await json('terminal', 'register', '--store', store.uuid, '--manufacturer', 'SUNMI', '--model', 'P2-lite', '--serial', serial);
      expect(terminal).toMatchObject({ id: `SUNMI-P2-lite-${serial}`, device_token: expect.stringMatching(/^cpos_dev_/) });
      terminals.push(terminal.id);
    }
    const key = await json('apikey', 'issue', '--customer', String(customer.id), '--label', 'Initial API Key');
    expect(key).toMatchObject({ id: expect.any(Number), label: 'Initial API Key', apikey: expect.stringMatching(/^cpos_key_/) });

    // The server on the same database accepts the key and shows both merchants' stores.
    const app = await buildApp({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent', AUTH_CACHE_MS: '0' }), store: db.store });
    try {
      await app.ready();
      const api = merchantApi(app, key.apikey);
      const listed = await api('GET', '/stores');
      expect(listed.statusCode).toBe(200);
      expect(listed.json().map((s: { uuid: string }) => s.uuid).sort()).toEqual([...stores].sort());
      expect(new Set(listed.json().map((s: { merchant: { id: number } }) => s.merchant.id))).toEqual(new Set(merchants));
      expect(listed.json().every((s: { timezone: string }) => s.timezone === 'Europe/Berlin')).toBe(true);
      const listedTerminals = await api('GET', '/terminals');
      expect(listedTerminals.json().map((t: { id: string }) => t.id).sort()).toEqual([...terminals].sort());
    } finally {
      await app.close();
    }

    // The list commands show what was onboarded.
    expect((await json('merchant', 'list', '--customer', String(customer.id))).merchants.map((m: { id: number }) => m.id)).toEqual(merchants);
    const keys = await json('apikey', 'list', '--customer', String(customer.id));
    expect(keys.apikeys).toEqual([expect.objectContaining({ id: key.id, label: 'Initial API Key', revoked: false })]);
    expect(JSON.stringify(keys)).not.toContain(key.apikey);
  });

  it('refuses to revoke a customer\'s last valid key without an end date unless --force', async () => {
    const customer = await json('customer', 'create', '--name', 'Locked Out Ltd');
    const key = await json('apikey', 'issue', '--customer', String(customer.id), '--label', 'only');
    const soon = await json('apikey', 'issue', '--customer', String(customer.id), '--label', 'soon over', '--valid-until', new Date(Date.now() + 60_000).toISOString());
    const refused = await admin('apikey', 'revoke', '--customer', String(customer.id), '--id', String(key.id), '--json');
    expect(refused.code).toBe(1);
    const lines = refused.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ error: 'LAST_VALID_KEY', detail: expect.stringMatching(/--force/) });
    expect(refused.stderr).toMatch(/--force/);
    expect((await json('apikey', 'list', '--customer', String(customer.id))).apikeys.map((k: { revoked: boolean }) => k.revoked)).toEqual([false, false]);
    // the key with an end date may go: the lasting one stays
    expect(await json('apikey', 'revoke', '--customer', String(customer.id), '--id', String(soon.id))).toEqual({ id: soon.id, revoked: true });
    expect(await json('apikey', 'revoke', '--customer', String(customer.id), '--id', String(key.id), '--force')).toEqual({ id: key.id, revoked: true });
    const again = await admin('apikey', 'revoke', '--customer', String(customer.id), '--id', String(key.id), '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('prints readable text without --json', async () => {
    const r = await admin('customer', 'create', '--name', 'Plain Text Ltd');
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).toThrow();
    expect(r.stdout).toMatch(/Plain Text Ltd/);
  });

  it('answers an unknown customer with exit 1 and an error object under --json', async () => {
    for (const argv of [
      ['merchant', 'create', '--customer', '999999', '--name', 'Nobody'],
      ['apikey', 'issue', '--customer', '999999', '--label', 'x'],
    ]) {
      const r = await admin(...argv, '--json');
      expect(r.code).toBe(1);
      const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ error: expect.any(String), detail: expect.stringMatching(/999999/) });
      expect(r.stderr).toMatch(/999999/);
    }
  });

  it.each([
    [['merchant', 'create', '--name', 'No Customer'], /--customer/],
    [['customer', 'create'], /--name/],
    [['terminal', 'register', '--store', 'x', '--manufacturer', 'SUNMI', '--model', 'P2'], /--serial/],
    [['apikey', 'issue', '--customer', '1'], /--label/],
    [['customer', 'explode', '--name', 'x'], /unknown command/],
    [['nonsense'], /unknown command/],
    [['customer', 'create', '--name', 'x', '--colour', 'blue'], /colour/],
    [['merchant', 'create', '--customer', 'abc', '--name', 'x'], /--customer/],
  ])('answers %j with exit 64 and the usage on stderr', async (argv, why) => {
    const r = await admin(...argv, '--json');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/usage: cloudpos admin/);
    expect(r.stdout).toBe('');
  });
});

describe('the cloudpos bin', () => {
  it('runs `admin customer create --json --create` on a new SQLite file and prints one JSON object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudpos-bin-'));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/cloudpos.js'), 'admin', 'customer', 'create', '--name', 'X', '--json', '--create'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, LOG_LEVEL: 'silent' },
      });
      expect(stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(stdout)).toMatchObject({ id: 1, name: 'X' });
      // stderr names the database, and nothing else
      expect(stderr).toBe(`using sqlite:${join(dir, 'db.sqlite')} (new file)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
