/** Process management, load generation and statistics shared by the scenarios. */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';

export { sleep };

export interface Server {
  base: string;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns a server as a child process (raising its file-descriptor limit first) and waits for the
 * line announcing its address. Both the platform and the baseline are started this way. */
export async function spawnServer(label: string, nodeArgs: string[], env: Record<string, string>): Promise<Server> {
  const child: ChildProcess = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh', process.execPath, ...nodeArgs], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    base,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

/** Resident memory of a process in MB: now (VmRSS) and its peak (VmHWM). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

export interface RateResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  bad: number;
}

export interface CannonRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Closed-loop load with autocannon from this process: `next()` gives every request. */
export async function cannon(base: string, next: () => CannonRequest, seconds: number, connections: number): Promise<RateResult> {
  const first = next();
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    method: first.method,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          const r = next();
          return { ...req, method: r.method, path: r.path, headers: r.headers, ...(r.body !== undefined && { body: r.body }) };
        },
      },
    ],
  });
  return {
    rps: result.requests.total / (result.duration || seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Open-loop requests at a fixed rate; the latency of each, in ms. */
export async function paced(count: number, perSecond: number, send: (i: number) => Promise<void>): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    running.push(
      (async () => {
        const t0 = performance.now();
        try {
          await send(i);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      })(),
    );
  }
  await Promise.all(running);
  return { latencies, errors };
}

/** One request through an undici pool; throws on an unexpected status. */
export async function call(pool: Pool, method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: unknown, signal?: AbortSignal) {
  const res = await pool.request({
    method,
    path,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    ...(signal && { signal }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: () => JSON.parse(text) as Record<string, unknown>, text };
}
