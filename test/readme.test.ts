import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CARDS } from '../src/acquirer/sandbox.js';
import { freePort } from './support/ports.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const between = (start: string, end: string) => readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end));

describe('README', () => {
  it('starts with the install-and-start and the test commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(firstBlock).toMatch(/^npm install && npm start/m);
    expect(firstBlock).toMatch(/^npm test/m);
  });

  it('publishes the sandbox acquirer’s test cards as they are', () => {
    const rows = between('<!-- cards:start -->', '<!-- cards:end -->')
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
    expect(rows).toEqual(SANDBOX_CARDS.map((c) => [c.number, c.brand, c.description]));
  });
});

describe('README tour', () => {
  let dir: string;
  let server: ChildProcess;
  let port = 0;
  const env = () => ({ ...process.env, DATABASE_URL: `sqlite:${join(dir, 'tour.sqlite')}`, LOG_LEVEL: 'warn', SANDBOX_SLOW_MS: '100' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudpos-readme-'));
    server = spawn(process.execPath, ['bin/cloudpos.js', 'serve'], { env: { ...env(), PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
    });
  });
  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('works as printed', () => {
    const script = [...between('<!-- tour:start -->', '<!-- tour:end -->').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script.replaceAll('localhost:8080', `127.0.0.1:${port}`)], {
      env: env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    // Both merchants' stores, paginated terminals, the rotation's 204.
    expect(out).toContain('"name":"Acme Amsterdam"');
    expect(out).toContain('"name":"Acme Antwerpen"');
    expect(out).toMatch(/x-total-count: 2/i);
    expect(out).toMatch(/rel="next"/);
    expect(out).toContain('"label":"2022 2nd half"');
    const codes = out.match(/^\d{3}$/gm);
    // Revoke the first key 204; cancel after the card 409; cancel the pending refund 204.
    expect(codes).toEqual(['204', '409', '204']);
    expect(out).toContain('"status":"CLEARED","result":"APPROVED"');
    expect(out).toContain('PAYMENT ACCEPTED');
    expect(out).toMatch(/"type":"REFUND".*"status":"CREATED"/);
    expect(out).toContain('DAY TOTALS');
    expect(out).not.toContain('"status":4');
  }, 150_000);
});

describe('README production section', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloudpos-readme-production-'));
  });
  afterAll(() => {
    killServersOf(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts production, registers a terminal and pays through a terminal that reports its outcome', async () => {
    const port = await freePort();
    const script = [...between('<!-- production:start -->', '<!-- production:end -->').matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1])
      .join('\n')
      .replaceAll('localhost:8080', `127.0.0.1:${port}`)
      .replaceAll('PORT=8080', `PORT=${port} HOST=127.0.0.1`)
      .replaceAll('sqlite:./data/production.sqlite', `sqlite:${join(dir, 'production.sqlite')}`)
      .replaceAll('production.log', join(dir, 'production.log'));
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: process.cwd(), env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
    // Whatever happened, no server of this test outlives it.
    killServersOf(dir);
    const log = readFileSync(join(dir, 'production.log'), 'utf8');
    expect(run.status, `${run.stderr}\n${log}`).toBe(0);
    expect(run.stdout).toContain('"status":"CREATED"');
    expect(run.stdout).toMatch(/"status":"CLEARED","result":"APPROVED"/);
    expect(run.stdout).toContain('PAYMENT ACCEPTED');
    // No secret and no card number ever reaches the server's output.
    expect(log).not.toMatch(/cpos_key_|cpos_dev_|4111111111111111/);
  }, 150_000);
});


/** Ends every process whose environment names `dir` (the servers a README block started). */
function killServersOf(dir: string) {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}
