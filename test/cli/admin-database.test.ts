import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { adminPrefix } from '../../src/first-run.js';
import { describeDatabase, maskPassword } from '../../src/db/url.js';
import { ROOT, spawnCloudpos, type Spawned } from '../simulator/process.js';
import { createEmptyDatabase, describeEachStore } from '../support/stores.js';
import { cloudpos } from './run.js';

describe('how a command names its database', () => {
  it('masks a password and shows a SQLite path absolute', () => {
    expect(maskPassword('postgres://pos:hunter2@db:5432/pos')).toBe('postgres://pos:***@db:5432/pos');
    expect(maskPassword('postgres://pos@db/pos')).toBe('postgres://pos@db/pos');
    expect(describeDatabase('postgresql://a:b@h/d')).toBe('postgresql://a:***@h/d');
    expect(describeDatabase('sqlite:./data/x.sqlite')).toBe(`sqlite:${ROOT}data/x.sqlite`);
  });

  it('prints admin hints with the DATABASE_URL the server uses, never a password', () => {
    expect(adminPrefix('sqlite:./data/cloudpos.sqlite')).toBe('');
    expect(adminPrefix('sqlite:./elsewhere.sqlite')).toBe(`DATABASE_URL='sqlite:${ROOT}elsewhere.sqlite' `);
    expect(adminPrefix('postgres://pos:hunter2@db:5432/pos')).toBe(`DATABASE_URL='postgres://pos@db:5432/pos' `);
  });
});

describeEachStore('cloudpos admin and its database', (dialect) => {
  it('says on stderr which database it uses; creates a SQLite file only with --create', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      if (db.file) {
        const refused = await cloudpos(['admin', 'customer', 'create', '--name', 'Typo', '--json'], { DATABASE_URL: db.url });
        expect(refused.code).toBe(66);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toBe(`using sqlite:${db.file}\nno SQLite database at ${db.file} (DATABASE_URL=${db.url}): check the path, or pass --create to create a new one\n`);
        expect(existsSync(db.file)).toBe(false);
      }
      const created = await cloudpos(['admin', 'customer', 'create', '--name', 'First', '--json', '--create'], { DATABASE_URL: db.url });
      expect(created.code, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ name: 'First' });
      const listed = await cloudpos(['admin', 'customer', 'list', '--json'], { DATABASE_URL: db.url });
      expect(listed.code).toBe(0);
      expect(listed.stderr).toBe(`using ${describeDatabase(db.url)}\n`);
      expect(JSON.parse(listed.stdout).customers.map((c: { name: string }) => c.name)).toEqual(['First']);
    } finally {
      await db.drop();
    }
  });

  it('in production refuses a database whose migrations are behind, naming cloudpos migrate', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      if (dialect === 'sqlite') expect((await cloudpos(['admin', 'customer', 'list'], { DATABASE_URL: db.url, CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://p.example', SECRET_ENCRYPTION_KEY: '6e0d669c74f257f7c28f584622d02f4ca9c1527c3f857b199b9062bd10eb767d' })).code).toBe(66);
      else {
        const r = await cloudpos(['admin', 'customer', 'list'], { DATABASE_URL: db.url, CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://p.example', SECRET_ENCRYPTION_KEY: '6e0d669c74f257f7c28f584622d02f4ca9c1527c3f857b199b9062bd10eb767d' });
        expect(r.code).toBe(78);
        expect(r.stderr).toContain('run `cloudpos migrate` first');
      }
    } finally {
      await db.drop();
    }
  });
});

const exec = promisify(execFile);

describeEachStore('the first-run banner on a database other than the default', (dialect) => {
  const running: Spawned[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
      await p.exit;
    }
  });

  it('prints a rotate-token hint that acts on the server’s database; request logs stay quiet', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      const server = spawnCloudpos(['serve'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: '' });
      running.push(server);
      await server.waitFor(/^={20,}\n[\s\S]*?\n={20,}$/m, 30_000);
      const out = server.output();
      const base = out.match(/listening on (http:\/\/\S+)/)![1]!;
      const token = out.match(/^Device token: (\S+)$/m)![1]!;
      const hint = out.match(/^A lost device token is replaced with: (.*)$/m)![1]!;
      expect(hint).toMatch(/^DATABASE_URL='(sqlite|postgres):[^']+' npx cloudpos admin terminal rotate-token --id SUNMI-P2lite-SIM00000001$/);
      const config = () => fetch(`${base}/device/v1/config`, { headers: { authorization: `Bearer ${token}` } });
      expect((await config()).status).toBe(200);
      // Run as printed (the repository's bin in place of npx), from another directory.
      const { stdout, stderr } = await exec('bash', ['--norc', '-euo', 'pipefail', '-c', hint.replace('npx cloudpos', `node ${ROOT}bin/cloudpos.js`)], { cwd: '/', env: { ...process.env, DATABASE_URL: '' } });
      expect(stdout).toMatch(/^Device token: cpos_dev_/m);
      expect(stderr).toBe(`using ${hint.match(/DATABASE_URL='([^']+)'/)![1]!}\n`);
      await expect.poll(async () => (await config()).status, { timeout: 5_000 }).toBe(403);
      // The sandbox's default LOG_LEVEL (warn) writes no line per request under the banner.
      expect(server.output()).not.toMatch(/"msg":"(incoming request|request completed)"/);
    } finally {
      await db.drop();
    }
  });

  it('writes request logs when LOG_LEVEL asks for them', async () => {
    const db = await createEmptyDatabase(dialect);
    try {
      const server = spawnCloudpos(['serve'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
      running.push(server);
      const [, base] = await server.waitFor(/listening on (http:\/\/\S+)/, 30_000);
      await fetch(`${base}/healthz`);
      await server.waitFor(/"msg":"request completed"/);
    } finally {
      await db.drop();
    }
  });
});
