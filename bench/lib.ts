/** Process management, load generation and statistics shared by the scenarios. */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';

export { sleep };

export interface Server {
  base: string;
  pid: number;
  /** The processes whose memory counts (several instances behind a proxy); `pid` otherwise. */
  memoryPids?: number[];
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
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      // A server that ends on its own is a failed run: say why, whatever the scenario makes of it.
      if (!stopping) process.stderr.write(`[bench] ${label} (pid ${child.pid}) exited by itself: ${code ?? signal}\n${stderr}\n`);
      resolve();
    }),
  );
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
      stopping = true;
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

/** CPU time (user + system) a process, or one of its threads, has used so far, in ms, from /proc (10 ms ticks). */
export function cpuMsOf(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** How long a process's thread (its main thread by default) has been ready to run but waiting for
 * a core, in ms (the scheduler's run-queue time, /proc/…/schedstat): 0 when /proc does not say. */
export function queuedMsOf(pid: number, thread = pid): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** The CPU time of several processes together (PostgreSQL's), as cpuMsOf. */
export function cpuMsOfAll(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
}

/** Bytes a process has had written to storage so far (its write-ahead log, its checkpoints): 0 when
 * /proc does not say. */
export function bytesWrittenOf(pid: number): number {
  try {
    return Number(/^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The PostgreSQL server's processes (postmaster and backends) on this machine: their CPU shows
 * what the database did for a round (anyone else's queries count too). */
export function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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
  return { status: res.statusCode, json: () => JSON.parse(text) as Record<string, unknown>, text, headers: res.headers };
}

/** nginx from the system (/usr/sbin/nginx) as a reverse proxy in front of `upstreams`, a child of
 * this process (not a daemon) with its own prefix, pid file and temp directories. Several workers
 * with `reuseport`, so that the kernel spreads the connections and no worker needs more
 * descriptors than the hard limit allows (each proxied connection takes two). */
export async function spawnNginx(upstreams: string[], dir: string, nginxBin = process.env.BENCH_NGINX ?? '/usr/sbin/nginx'): Promise<Server> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const port = await freePort();
  const hosts = upstreams.map((u) => new URL(u).host);
  const conf = `
worker_processes 4;
worker_rlimit_nofile 19000;
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 9000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_requests 1000000;
  upstream cloudpos {
${hosts.map((h) => `    server ${h} max_fails=0;`).join('\n')}
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} reuseport backlog=8192;
    location / {
      proxy_pass http://cloudpos;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 120s;
      proxy_buffering off;
      proxy_next_upstream off;
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child = spawn(nginxBin, ['-p', dir, '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${stderr}${readIfThere(join(dir, 'logs', 'error.log'))}`);
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {}
    if (i > 100) throw new Error(`nginx does not answer on ${base}:\n${stderr}${readIfThere(join(dir, 'logs', 'error.log'))}`);
    await sleep(100);
  }
  return {
    base,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

function readIfThere(file: string) {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
