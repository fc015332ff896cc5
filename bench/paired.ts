/** Paired bursts: the server CPU per idle poll of several builds of the platform and of the bare
 * route, side by side, to tell a change of a few percent on a noisy machine.
 *
 *   npx tsx bench/paired.ts ROUNDS BIN[,NAME=VALUE...] [BIN...]
 *
 * Each BIN (a `bin/cloudpos.js`, with environment variables for it after commas) serves a copy of
 * one seeded SQLite database with AB_TERMINALS terminals (10,000). Every round sends a 2 s burst
 * of 32 connections to each server in a new random order; each process's CPU time per request is
 * read from /proc. Printed per server: the median CPU per request, the median rate, and the median
 * of its per-round ratios to the first build's CPU. Check the noise first with a copy of the first
 * build beside it: 0.979 over 10 rounds on a quiet machine, 1.088 over 4 on a busy one (take more
 * rounds then). */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannon, cpuMsOf, median, spawnServer, type CannonRequest, type Server } from './lib.js';
import { seed } from './seed.js';

const [roundsArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1 || specs.length === 0) {
  process.stderr.write('usage: tsx bench/paired.ts ROUNDS BIN[,NAME=VALUE...] [BIN...]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'cloudpos-paired-'));
const seeded = await seed(`sqlite:${join(dir, 'seed.sqlite')}`, Number(process.env.AB_TERMINALS ?? 10_000));
const headers = seeded.terminals.map((t) => ({ authorization: `Bearer ${t.token}` }));
const roundRobin = (path: string) => {
  let i = 0;
  return (): CannonRequest => ({ method: 'GET', path, headers: headers[i++ % headers.length]! });
};

interface Side {
  name: string;
  server: Server;
  path: string;
  cpu: number[];
  rps: number[];
}
const sides: Side[] = [];
try {
  sides.push({ name: 'bare Fastify', server: await spawnServer('baseline', ['--import', 'tsx', 'bench/baseline-server.ts'], { DATABASE_URL: `sqlite:${join(dir, 'bare.sqlite')}` }), path: '/ping', cpu: [], rps: [] });
  for (const [i, spec] of specs.entries()) {
    const [bin, ...vars] = spec.split(',');
    const env = Object.fromEntries(vars.map((v) => v.split('=', 2) as [string, string]));
    copyFileSync(join(dir, 'seed.sqlite'), join(dir, `${i}.sqlite`));
    const server = await spawnServer(spec, [bin!, 'serve'], {
      ...env,
      DATABASE_URL: `sqlite:${join(dir, `${i}.sqlite`)}`,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_DEVICE_PER_MIN: '1000000',
    });
    sides.push({ name: spec, server, path: '/device/v1/transactions/next', cpu: [], rps: [] });
  }
  // Every terminal polls once first: its token and its "nothing pending" are remembered.
  for (const side of sides) await cannon(side.server.base, roundRobin(side.path), 3, 32);
  for (let round = 0; round < rounds; round++) {
    for (const side of [...sides].sort(() => Math.random() - 0.5)) {
      const before = cpuMsOf(side.server.pid);
      const res = await cannon(side.server.base, roundRobin(side.path), 2, 32);
      side.cpu.push(((cpuMsOf(side.server.pid) - before) * 1000) / res.total);
      side.rps.push(res.rps);
      if (res.bad > 0) process.stderr.write(`${side.name}: ${res.bad} answers not 2xx\n`);
    }
  }
  const first = sides[1]!;
  for (const side of sides) {
    const ratio = median(side.cpu.map((c, i) => c / first.cpu[i]!));
    process.stdout.write(`${side.name}: ${median(side.cpu).toFixed(1)} µs of CPU per request, ${median(side.rps).toFixed(0)} req/s, ${ratio.toFixed(3)} of the first build's CPU\n`);
  }
} finally {
  for (const side of sides) await side.server.stop();
  rmSync(dir, { recursive: true, force: true });
}
