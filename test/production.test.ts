import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { isProblem, merchantApi } from './support/http.js';
import { onboard, usePlatform } from './support/platform.js';
import { createTestDatabase, describeEachStore } from './support/stores.js';
import { spawnCloudpos } from './simulator/process.js';
import { deviceApi, purchase } from './support/terminal.js';

const KEY = Buffer.alloc(32, 9).toString('base64');
const PRODUCTION = { CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: KEY };
const APPROVED = { result: 'APPROVED', entry_mode: 'CONTACTLESS', card: { brand: 'VISA', last4: '1111' }, authorization_code: 'A1B2C3' };

describe('a production start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-production-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('needs DATABASE_URL and PUBLIC_URL, and says which in one line', () => {
    expect(() => loadConfig({ CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: KEY })).toThrow(/^DATABASE_URL must be set when CLOUDPOS_ENV=production$/);
    expect(() => loadConfig({ CLOUDPOS_ENV: 'production', DATABASE_URL: `sqlite:${dir}/a.sqlite` })).toThrow(ConfigError);
    expect(() => loadConfig({ CLOUDPOS_ENV: 'production', DATABASE_URL: `sqlite:${dir}/a.sqlite` })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ CLOUDPOS_ENV: 'production', DATABASE_URL: `sqlite:${dir}/a.sqlite`, PUBLIC_URL: 'https://pay.example.com' })).toThrow(
      /^SECRET_ENCRYPTION_KEY must be set when CLOUDPOS_ENV=production$/,
    );
    expect(() => loadConfig({ ...PRODUCTION, DATABASE_URL: `sqlite:${dir}/a.sqlite`, SECRET_ENCRYPTION_KEY: 'short' })).toThrow(/SECRET_ENCRYPTION_KEY: must be 32 bytes/);
    expect(loadConfig({ ...PRODUCTION, DATABASE_URL: `sqlite:${dir}/a.sqlite`, SECRET_ENCRYPTION_KEY: 'ab'.repeat(32) }).SECRET_ENCRYPTION_KEY).toBe('ab'.repeat(32));
    expect(loadConfig({ ...PRODUCTION, DATABASE_URL: `sqlite:${dir}/a.sqlite` }).CLOUDPOS_ENV).toBe('production');
  });

  it('stops with exit code 78 and one line naming the missing setting', async () => {
    const run = spawnCloudpos(['serve'], { CLOUDPOS_ENV: 'production', DATABASE_URL: `sqlite:${dir}/b.sqlite`, PORT: '0', PUBLIC_URL: '' });
    expect(await run.exit).toBe(78);
    expect(run.output().trim().split('\n')).toEqual(['PUBLIC_URL must be set when CLOUDPOS_ENV=production']);
  });

  it('stops with exit code 78 and one line without SECRET_ENCRYPTION_KEY', async () => {
    const run = spawnCloudpos(['serve'], { ...PRODUCTION, DATABASE_URL: `sqlite:${dir}/k.sqlite`, PORT: '0', SECRET_ENCRYPTION_KEY: '' });
    expect(await run.exit).toBe(78);
    expect(run.output().trim().split('\n')).toEqual(['SECRET_ENCRYPTION_KEY must be set when CLOUDPOS_ENV=production']);
  });

  it('starts with them: no demo, no secret printed, /simulator absent', async () => {
    const run = spawnCloudpos(['serve'], { ...PRODUCTION, DATABASE_URL: `sqlite:${dir}/c.sqlite`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    try {
      const [, base] = await run.waitFor(/listening on (http:\/\/\S+)/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/simulator`)).status).toBe(404);
      expect((await fetch(`${base}/simulator/api/terminals`)).status).toBe(404);
      expect(run.output()).not.toMatch(/cpos_key_|cpos_dev_|API-Key:|Device token:/);
    } finally {
      run.proc.kill('SIGTERM');
      await run.exit;
    }
  });

  it('refuses the sandbox acquirer as its connector', async () => {
    const db = await createTestDatabase('sqlite');
    const module = join(dir, 'sandbox.mjs');
    writeFileSync(module, `export { SandboxAcquirer as default } from '${pathToFileURL(resolve('src/acquirer/sandbox.ts')).href}';\n`);
    try {
      const config = loadConfig({ ...PRODUCTION, DATABASE_URL: db.url, LOG_LEVEL: 'silent', ACQUIRER_MODULE: module });
      await expect(buildApp({ config, store: db.store })).rejects.toThrow(/ACQUIRER_MODULE: the sandbox acquirer/);
    } finally {
      await db.drop();
    }
  });
});

describeEachStore('production mode', (dialect) => {
  const ctx = usePlatform(dialect, { env: PRODUCTION });

  it('takes no card data, records what the terminal reports, and names ACQUIRER_MODULE for completions', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const device = deviceApi(ctx().app, t.deviceToken);
    const created = await api('POST', `/terminals/${t.id}/transactions`, { ...purchase(40), type: 'PRE_AUTHORIZATION' });
    expect(created.headers.location).toMatch(/^(https:\/\/pay\.example\.com)?\/terminals\//);
    const id = created.json().id;
    expect((await device.next()).statusCode).toBe(200);
    const card = await device.card(id);
    expect(card.statusCode).toBe(403);
    expect(isProblem(card)).toBe(true);
    expect(card.json().detail).toMatch(/outcome/);
    const reported = await ctx().app.inject({ method: 'POST', url: `/device/v1/transactions/${id}/outcome`, headers: { authorization: `Bearer ${t.deviceToken}` }, payload: APPROVED });
    expect(reported.json()).toMatchObject({ status: 'AUTHORIZED', result: 'APPROVED' });
    for (const action of ['capture', 'release']) {
      const res = await api('POST', `/terminals/${t.id}/transactions/${id}/${action}`, {});
      expect(res.statusCode, action).toBe(501);
      expect(isProblem(res)).toBe(true);
      expect(res.json().detail).toContain('ACQUIRER_MODULE');
    }
    expect((await api('GET', `/terminals/${t.id}/transactions/${id}`)).json().status).toBe('AUTHORIZED');
    for (const url of ['/simulator', '/simulator/api/terminals']) expect((await ctx().app.inject({ url })).statusCode).toBe(404);
  });
});
