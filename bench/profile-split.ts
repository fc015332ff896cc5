/** A CPU profile of the platform split into the webhooks scenario's off and on rounds (the windows
 * `BENCH_ROUNDS=FILE` wrote): per payment, each function's self and inclusive time on each side
 * and the difference, largest first.
 * Usage: tsx bench/profile-split.ts FILE.cpuprofile ROUNDS.jsonl [N] [db] */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  parent?: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Round {
  db: string;
  /** 'control' rounds (the webhooks scenario's, at the pace) are left out: no webhook work of the platform's */
  side: 'off' | 'on' | 'control';
  fromUs: number;
  toUs: number;
  payments: number;
}

const [file, roundsFile, n, db] = process.argv.slice(2);
if (!file || !roundsFile) {
  process.stderr.write('usage: tsx bench/profile-split.ts FILE.cpuprofile ROUNDS.jsonl [N] [db]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const rounds = readFileSync(roundsFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Round)
  .filter((r): r is Round & { side: 'off' | 'on' } => r.side !== 'control')
  .filter((r) => !db || r.db === db)
  // Only rounds inside this profile.
  .filter((r) => r.fromUs >= profile.startTime);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
for (const node of profile.nodes) for (const c of node.children ?? []) byId.get(c)!.parent = node.id;
const label = (node: ProfileNode) => {
  const f = node.callFrame;
  const name = f.functionName || '(anonymous)';
  return f.url ? `${name} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}` : name;
};
// The distinct labels on each node's stack (inclusive time counts a recursive function once).
const stacks = new Map<number, string[]>();
const stackOf = (id: number): string[] => {
  let s = stacks.get(id);
  if (s) return s;
  const node = byId.get(id)!;
  s = [...new Set([label(node), ...(node.parent === undefined ? [] : stackOf(node.parent))])];
  stacks.set(id, s);
  return s;
};

type Side = { payments: number; busy: number; self: Map<string, number>; incl: Map<string, number> };
const sides: Record<'off' | 'on', Side> = {
  off: { payments: 0, busy: 0, self: new Map(), incl: new Map() },
  on: { payments: 0, busy: 0, self: new Map(), incl: new Map() },
};
for (const r of rounds) sides[r.side].payments += r.payments;
let t = profile.startTime;
const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  const round = rounds.find((r) => t >= r.fromUs && t < r.toUs);
  if (!round) continue;
  const node = byId.get(profile.samples[i]!)!;
  const name = node.callFrame.functionName;
  if (name === '(idle)') continue;
  const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  const side = sides[round.side];
  side.busy += us;
  add(side.self, label(node), us);
  for (const l of stackOf(node.id)) add(side.incl, l, us);
}
const per = (side: Side, us: number) => us / Math.max(1, side.payments);
const top = Number(n ?? 40);
const out: string[] = [];
out.push(`payments off ${sides.off.payments}, on ${sides.on.payments}; busy µs per payment off ${per(sides.off, sides.off.busy).toFixed(0)}, on ${per(sides.on, sides.on.busy).toFixed(0)}`);
for (const kind of ['self', 'incl'] as const) {
  const keys = new Set([...sides.off[kind].keys(), ...sides.on[kind].keys()]);
  const rows = [...keys]
    .map((k) => ({ k, off: per(sides.off, sides.off[kind].get(k) ?? 0), on: per(sides.on, sides.on[kind].get(k) ?? 0) }))
    .sort((a, b) => b.on - b.off - (a.on - a.off))
    .slice(0, top);
  out.push('', `${kind} µs per payment: on − off, off, on`);
  for (const r of rows) out.push(`${(r.on - r.off).toFixed(1).padStart(8)} ${r.off.toFixed(1).padStart(8)} ${r.on.toFixed(1).padStart(8)}  ${r.k}`);
}
process.stdout.write(`${out.join('\n')}\n`);
