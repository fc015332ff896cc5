import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { ROOT, type Spawned, spawnCloudpos } from './process.js';

const exec = promisify(execFile);

/** Runs printed shell lines in one bash, as a newcomer pasting them would. */
async function shell(lines: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec('bash', ['--norc', '-euo', 'pipefail', '-c', lines.join('\n')], { cwd: ROOT, timeout: 30_000 });
}

describe('first run of npm start on an empty sandbox database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-first-run-'));
  const running: Spawned[] = [];
  const serve = (file: string) => {
    // LOG_LEVEL=silent: the banner goes to stdout whatever the log level.
    const p = spawnCloudpos(['serve'], { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${join(dir, file)}`, LOG_LEVEL: 'silent', POLL_INTERVAL_MS: '200' });
    running.push(p);
    return p;
  };
  const stop = async (p: Spawned) => {
    p.proc.kill('SIGTERM');
    await p.exit;
  };
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.proc.exitCode === null) await stop(p);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the key, the device token, the addresses and curl commands that work as printed; later starts print no secrets', async () => {
    const started = Date.now();
    const server = serve('demo.sqlite');
    await server.waitFor(/^={20,}\n[\s\S]*?\n={20,}$/m, 20_000);
    const out = server.output();
    const base = out.match(/cloudpos listening on (http:\/\/\S+)/)![1]!;
    expect(out).toMatch(/^API-Key: cpos_key_\S+$/m);
    const apiKey = out.match(/^API-Key: (\S+)$/m)![1]!;
    // The simulator's link carries the demo key in the fragment, which no browser sends to a server.
    expect(out).toContain(`Terminal simulator: ${base}/simulator#key=${encodeURIComponent(apiKey)}\n`);
    expect(out).toMatch(/^Device token: cpos_dev_\S+$/m);
    expect(out).toContain(`${base}/docs`);
    expect(out).toContain(`${base}/simulator`);
    const line = (re: RegExp) => out.split('\n').find((l) => re.test(l))!;
    const create = line(/^R=\$\(curl /);
    const read = line(/^curl -sS "/);
    const cancel = line(/^curl -sS -X DELETE /);
    const terminal = line(/^npx cloudpos terminal run /);
    expect([create, read, cancel, terminal].every(Boolean)).toBe(true);

    // create → read → cancel: 204, then CANCELLED
    const a = await shell([create, read, cancel, read]);
    const [created, before, code, after] = a.stdout.trim().split('\n');
    expect(JSON.parse(created!)).toMatchObject({ type: 'PURCHASE', status: 'CREATED', amount: { value: 12.5, currency: 'EUR' } });
    expect(JSON.parse(before!)).toMatchObject({ status: 'CREATED' });
    expect(code).toBe('204');
    expect(JSON.parse(after!)).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });

    // create → the printed terminal command pays it → read: CLEARED/APPROVED; cancel: 409
    const b = await shell([create, terminal, read, cancel]);
    expect(b.stdout).toContain('PAYMENT ACCEPTED');
    const paid = JSON.parse(b.stdout.split('\n').filter((l) => l.startsWith('{"type":"PURCHASE"')).at(-1)!);
    expect(paid).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA' });
    expect(paid.receipt).toContain('PAYMENT ACCEPTED');
    expect(b.stdout.trim().endsWith('409')).toBe(true);
    const seconds = (Date.now() - started) / 1000;
    console.info(`first run: npm start's server on an empty database to a cleared payment through the printed commands in ${seconds.toFixed(1)} s`);

    await stop(server);
    const again = serve('demo.sqlite');
    await again.waitFor(/Terminal simulator: /, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(again.output()).not.toMatch(/API-Key:|Device token:|cpos_key_|cpos_dev_/);
  });

  it('two instances starting at once on one empty database onboard the demo once', async () => {
    // Migrated first: two processes migrating one SQLite file at once is a separate matter (see the report).
    const migrate = spawnCloudpos(['migrate'], { DATABASE_URL: `sqlite:${join(dir, 'twice.sqlite')}` });
    expect(await migrate.exit).toBe(0);
    const [x, y] = [serve('twice.sqlite'), serve('twice.sqlite')];
    await Promise.all([x.waitFor(/Terminal simulator: /, 60_000), y.waitFor(/Terminal simulator: /, 60_000)]);
    await new Promise((r) => setTimeout(r, 300));
    const banners = [x, y].filter((p) => /^API-Key: /m.test(p.output()));
    expect(banners).toHaveLength(1);
    const store = openDatabase(`sqlite:${join(dir, 'twice.sqlite')}`);
    try {
      expect(await store.db.selectFrom('customers').selectAll().execute()).toHaveLength(1);
      expect(await store.db.selectFrom('terminals').selectAll().execute()).toHaveLength(1);
    } finally {
      await store.close();
    }
  }, 90_000);
});
