/** The memory scenario: what one held poll costs, from heap snapshots of the platform and of the
 * bare Fastify baseline, each taken idle and again while every terminal holds a long poll. */
import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';
import { difference, snapshot, total, type HeapSummary } from './heap.js';
import { memoryOf, sleep, type Server } from './lib.js';
import { longPoller, ramp, type Row, type Settings, type Terminal } from './scenarios.js';

interface Measured {
  idle: HeapSummary;
  held: HeapSummary;
  rssIdle: number;
  rssHeld: number;
  polls: number;
  errors: number;
  unexpected: string[];
}

async function measure(server: Server, dir: string, s: Settings, terminals: Terminal[]): Promise<Measured> {
  // Every terminal polls once first: what stays per terminal afterwards (its checked token, its
  // presence) is the fleet's, not the held poll's.
  const warm = new Pool(server.base, { connections: 64 });
  await Promise.all(
    Array.from({ length: 64 }, async (_, k) => {
      for (let i = k; i < terminals.length; i += 64) {
        const res = await warm.request({ method: 'GET', path: '/device/v1/transactions/next', headers: { authorization: `Bearer ${terminals[i]!.token}` } });
        await res.body.dump();
      }
    }),
  );
  await warm.close();
  // Both RSS readings come before either snapshot: writing a snapshot mallocs about as much as
  // the heap it describes, and the freed memory stays resident (glibc keeps it), so an RSS read
  // after one would count the snapshot's leftovers as the held polls'. The idle snapshot is
  // taken once the polls have ended instead: what a terminal leaves behind is there either way.
  const rssIdle = memoryOf(server.pid).rss;
  const pool = new Pool(server.base, { connections: terminals.length + 16 });
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const counts = { polls: 0, errors: 0, unexpected: [] as string[] };
  const loops: Promise<void>[] = [];
  await ramp(terminals.length, (i) => loops.push(longPoller(pool, terminals[i]!, 30, stop.signal, counts)));
  await sleep(s.quick ? 1_000 : 3_000);
  const rssHeld = memoryOf(server.pid).rss;
  const held = await snapshot(server.pid, dir);
  stop.abort();
  await Promise.allSettled(loops);
  await pool.destroy();
  // The server has seen every connection close.
  await sleep(1_000);
  const idle = await snapshot(server.pid, dir);
  return { idle, held, rssIdle, rssHeld, polls: counts.polls, errors: counts.errors, unexpected: counts.unexpected };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export async function heldPollMemory(
  db: string,
  s: Settings,
  spawnPlatform: () => Promise<Server>,
  spawnBaseline: () => Promise<Server>,
  dir: string,
  terminals: Terminal[],
): Promise<{ rows: Row[]; section: string }> {
  const run = async (spawn: () => Promise<Server>) => {
    const server = await spawn();
    try {
      return await measure(server, dir, s, terminals);
    } finally {
      await server.stop();
    }
  };
  const bare = await run(spawnBaseline);
  const mine = await run(spawnPlatform);
  const n = terminals.length;
  const perPoll = (m: Measured) => (total(m.held) - total(m.idle)) / n;
  const rssPerPoll = (m: Measured) => ((m.rssHeld - m.rssIdle) * 1024 * 1024) / n;
  const platformRows = difference(mine.idle, mine.held, n);
  const bareRows = new Map(difference(bare.idle, bare.held, n).map((r) => [r.kind, r]));
  const lines = platformRows.slice(0, 20).map((r) => {
    const b = bareRows.get(r.kind);
    return `| ${r.kind.replace(/\|/g, '/')} | ${r.count.toFixed(2)} | ${r.bytes.toFixed(0)} | ${b ? b.count.toFixed(2) : '0'} | ${b ? b.bytes.toFixed(0) : '0'} |`;
  });
  const section = `## ${db}: what a held poll costs (heap snapshots)

${n} terminals each holding one long poll, against the same process once the polls have ended
(every terminal polled once before, so its checked token and presence are in both snapshots).
The RSS readings are taken before either snapshot. JS heap per held poll:
platform ${kb(perPoll(mine))}, bare Fastify ${kb(perPoll(bare))}; resident memory per held poll:
platform ${kb(rssPerPoll(mine))}, bare Fastify ${kb(rssPerPoll(bare))}. Idle, with the fleet polled once: JS heap
${mb(total(mine.idle))} vs ${mb(total(bare.idle))}, RSS ${mine.rssIdle.toFixed(0)} MB vs ${bare.rssIdle.toFixed(0)} MB.
Largest kinds of object, per held poll:

| kind | platform: objects | platform: bytes | bare: objects | bare: bytes |
| --- | ---: | ---: | ---: | ---: |
${lines.join('\n')}
`;
  const errors = mine.errors + bare.errors;
  // Which side erred, and how: an error is the scenario's to explain, not a count to skip over.
  const erred = [
    ...(mine.errors ? [`platform ${mine.errors}: ${mine.unexpected.join(' | ')}`] : []),
    ...(bare.errors ? [`bare ${bare.errors}: ${bare.unexpected.join(' | ')}`] : []),
  ].join('; ');
  const ratio = perPoll(mine) / perPoll(bare);
  return {
    rows: [
      {
        db,
        scenario: 'memory: JS heap per held poll',
        metric: `heap snapshots, ${n} polls held vs idle${errors ? `, ${errors} errors (${erred})` : ''}; RSS while holding ${mine.rssHeld.toFixed(0)} MB vs ${bare.rssHeld.toFixed(0)} MB`,
        value: kb(perPoll(mine)),
        baseline: `${kb(perPoll(bare))} (bare Fastify)`,
        ratio: `${ratio.toFixed(2)}×`,
        target: 'report',
        met: '—',
      },
    ],
    section,
  };
}
