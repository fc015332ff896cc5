/** Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`).
 * Usage: tsx bench/profile-summary.ts FILE.cpuprofile [N] */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function where(url: string, line: number): string {
  if (!url) return '';
  let path = url;
  try {
    if (url.startsWith('file:')) path = relative(process.cwd(), fileURLToPath(url));
  } catch {}
  path = path.replace(/^.*node_modules\//, '');
  return `${path}:${line + 1}`;
}

/** Self time per function (name and place), as a share of the time the process was busy. */
export function summarise(file: string, top = 15): { busyMs: number; gcMs: number; idleMs: number; frames: Frame[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let idle = 0;
  let gc = 0;
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    if (name === '(garbage collector)') gc += us;
    const loc = where(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name} ${loc}`;
    const t = totals.get(key) ?? { name, where: loc, us: 0 };
    t.us += us;
    totals.set(key, t);
  }
  const frames = [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((t) => ({ name: SPECIAL.has(t.name) ? t.name : t.name, where: t.where, selfMs: t.us / 1000, share: busy ? t.us / busy : 0 }));
  return { busyMs: busy / 1000, gcMs: gc / 1000, idleMs: idle / 1000, frames };
}

export function formatSummary(file: string, top = 15): string {
  const s = summarise(file, top);
  const lines = [`busy ${s.busyMs.toFixed(0)} ms (GC ${s.gcMs.toFixed(0)} ms), idle ${s.idleMs.toFixed(0)} ms`, '', '| self ms | share of busy | function | where |', '| ---: | ---: | --- | --- |'];
  for (const f of s.frames) lines.push(`| ${f.selfMs.toFixed(0)} | ${(f.share * 100).toFixed(1)}% | \`${f.name}\` | ${f.where} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(file, Number(n ?? 15))}\n`);
}
