import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { type Spawned, spawnCloudpos } from './process.js';

const SHUTDOWN_TIMEOUT_MS = 3_000;

/** A GET over a given agent; resolves with the status once the response has ended. */
function get(url: string, agent: Agent, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the server process: shutdown and first run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-shutdown-'));
  const running: Spawned[] = [];
  const serve = (file: string, env: Record<string, string> = {}) => {
    const p = spawnCloudpos(['serve'], {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, file)}`,
      LOG_LEVEL: 'silent',
      LONG_POLL_MAX_S: '60',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      ...env,
    });
    running.push(p);
    return p;
  };
  afterEach(() => {
    for (const p of running.splice(0)) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const started = async (p: Spawned) => {
    await p.waitFor(/^={20,}\n[\s\S]*?\n={20,}$/m, 20_000);
    const out = p.output();
    return { base: out.match(/cloudpos listening on (http:\/\/\S+)/)![1]!, token: out.match(/^Device token: (\S+)$/m)![1]! };
  };

  /** Exits by the deadline (plus the time a loaded machine needs to notice), with its exit code. */
  const exitsInTime = async (p: Spawned) => {
    const deadline = SHUTDOWN_TIMEOUT_MS + 5_000;
    return Promise.race([p.exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${deadline} ms:\n${p.output()}`)), deadline))]);
  };

  it('on SIGTERM answers held polls 204, closes idle keep-alive connections and exits cleanly', async () => {
    const server = serve('clean.sqlite');
    const { base, token } = await started(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    // keep-alive connections left idle after their request
    expect(await Promise.all([get(`${base}/healthz`, agent), get(`${base}/healthz`, agent)])).toEqual([200, 200]);
    const polls = [1, 2, 3].map(() => get(`${base}/device/v1/transactions/next?wait=60`, agent, { authorization: `Bearer ${token}` }));
    await new Promise((r) => setTimeout(r, 300));
    server.proc.kill('SIGTERM');
    expect(await Promise.all(polls)).toEqual([204, 204, 204]);
    expect(await exitsInTime(server)).toBe(0);
    agent.destroy();
  });

  it('exits by SHUTDOWN_TIMEOUT_MS whatever a client does, and at once on a second signal', async () => {
    const server = serve('stuck.sqlite');
    const { base } = await started(server);
    const { port } = new URL(base);
    // A request that never arrives whole keeps its connection busy.
    const stuck = connect(Number(port), '127.0.0.1');
    stuck.on('error', () => {});
    stuck.write('POST /simulator/api/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const trickle = setInterval(() => stuck.writable && stuck.write(' '), 200);
    await new Promise((r) => setTimeout(r, 200));
    server.proc.kill('SIGTERM');
    try {
      await exitsInTime(server);
    } finally {
      clearInterval(trickle);
      stuck.destroy();
    }

    const again = serve('stuck.sqlite');
    const second = await again.waitFor(/cloudpos listening on (http:\/\/\S+)/);
    const { port: port2 } = new URL(second[1]!);
    const busy = connect(Number(port2), '127.0.0.1');
    busy.on('error', () => {});
    busy.write('POST /simulator/api/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    await new Promise((r) => setTimeout(r, 200));
    again.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    again.proc.kill('SIGTERM');
    const code = await Promise.race([again.exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('second signal did not exit')), SHUTDOWN_TIMEOUT_MS - 500))]);
    expect(code).not.toBe(0);
    busy.destroy();
  });

  it('onboards nothing when the port is taken, so the demo secrets are never lost', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const failed = serve('taken.sqlite', { PORT: String(port) });
      expect(await exitsInTime(failed)).not.toBe(0);
      expect(failed.output()).not.toMatch(/API-Key:|cpos_key_/);
      const store = openDatabase(`sqlite:${join(dir, 'taken.sqlite')}`);
      try {
        expect(await store.db.selectFrom('customers').selectAll().execute()).toHaveLength(0);
      } finally {
        await store.close();
      }
    } finally {
      blocker.close();
    }
    // the next start, on a free port, onboards the demo and prints its secrets
    const next = serve('taken.sqlite');
    const { token } = await started(next);
    expect(token).toMatch(/^cpos_dev_/);
    expect(next.output()).toMatch(/^API-Key: cpos_key_/m);
  });
});
