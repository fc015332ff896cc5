import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const run = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', script.replaceAll('localhost:8080', `127.0.0.1:${port}`)], {
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
    const run = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', script], { cwd: process.cwd(), env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
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

describe('README webhook receiver', () => {
  const root = join(import.meta.dirname, '..');
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    mkdirSync(join(root, 'test-results'), { recursive: true });
    // Inside the repository, so that the receiver's `standardwebhooks` import resolves.
    dir = mkdtempSync(join(root, 'test-results', 'readme-webhook-'));
  });
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a process and resolves once its output matches `ready`. */
  const start = (args: string[], env: Record<string, string>, ready: RegExp) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const matched = new Promise<RegExpMatchArray>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        out += chunk.toString();
        const m = ready.exec(out);
        if (m) resolve(m);
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
    });
    // Awaited by the caller who waits for it; the receiver's never matches and ends killed.
    matched.catch(() => {});
    return { child, matched, output: () => out };
  };

  it('verifies and prints every delivery of a payment, and refuses an unsigned call', async () => {
    const [port, receiverPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const server = start(['bin/cloudpos.js', 'serve'], { DATABASE_URL: `sqlite:${join(dir, 'webhooks.sqlite')}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, /API-Key: (\S+)\nDevice token: (\S+)\nTerminal: (\S+)/);
    const [, apiKey, token, terminal] = (await server.matched) as unknown as [string, string, string, string];
    const headers = { 'api-key': apiKey, 'content-type': 'application/json' };

    const endpoint = await fetch(`${base}/webhook-endpoints`, { method: 'POST', headers, body: JSON.stringify({ url: `http://127.0.0.1:${receiverPort}/` }) });
    expect(endpoint.status).toBe(201);
    const { secret } = (await endpoint.json()) as { secret: string };

    // The README's receiver as printed, on a port of its own.
    const code = /```ts\n(import \{ createServer \} from 'node:http';[\s\S]*?)```/.exec(between('## Webhooks, the event log', '## What the platform does'))![1]!;
    expect(code).toContain('.listen(3000);');
    writeFileSync(join(dir, 'receiver.ts'), code.replace('.listen(3000);', '.listen(Number(process.env.RECEIVER_PORT));'));
    const receiver = start(['--import', 'tsx', join(dir, 'receiver.ts')], { CLOUDPOS_WEBHOOK_SECRET: secret, RECEIVER_PORT: String(receiverPort) }, /$^/);
    // An unsigned call is refused with 400 (tried until the receiver listens).
    let unsigned: Response | undefined;
    for (let i = 0; i < 200 && !unsigned; i++) {
      unsigned = await fetch(`http://127.0.0.1:${receiverPort}/`, { method: 'POST', body: '{"type":"transaction.cleared"}' }).catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    expect(unsigned?.status).toBe(400);

    const created = await fetch(`${base}/terminals/${terminal}/transactions`, { method: 'POST', headers, body: JSON.stringify({ type: 'PURCHASE', merchant_order_reference: 'readme-webhook', amount: { value: 4.2, currency: 'EUR' } }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const pay = spawnSync(process.execPath, ['bin/cloudpos.js', 'terminal', 'run', '--server', base, '--token', token, '--card', '4111111111111111', '--once'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(pay.status, pay.stderr).toBe(0);

    // The payment's events reached the receiver, verified (it prints only what it verified), and
    // in the order of their sequence: one that arrives after a later one is dropped, as printed.
    for (;;) {
      if (receiver.output().includes(`transaction.cleared ${id} CLEARED`)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const order = ['created', 'retrieved', 'card_presented', 'cleared'];
    const printed = receiver.output().trim().split('\n').map((line) => order.indexOf(line.split(' ')[0]!.replace('transaction.', '')));
    expect(printed.every((i) => i >= 0), receiver.output()).toBe(true);
    expect(printed).toEqual([...printed].sort((a, b) => a - b));
    expect(printed.at(-1)).toBe(3);
  }, 60_000);
});
