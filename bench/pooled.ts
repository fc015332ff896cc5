/** The webhooks scenario's sets at the pace, pooled over several reports (`--out` files of runs
 * with `--only=webhooks`): per store, the median of every set's ratio (on/off, control/off,
 * on/control) with its distribution-free interval. One run's 16 sets give an interval some 20
 * points wide on a busy machine; several runs' together, a narrower one.
 * Usage: npx tsx bench/pooled.ts REPORT.md [REPORT.md ...] */
import { readFileSync } from 'node:fs';
import { medianInWords } from './rounds.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: npx tsx bench/pooled.ts REPORT.md [REPORT.md ...]\n');
  process.exit(2);
}
/** Each set's ratios, as the rows list them ("each set's 83% 109% ..."), in set order. */
const setsOf = (row: string, name: string) => {
  const found = new RegExp(`${name} median [^;]*?, each set's ([\\d% ]+);`).exec(row);
  return found ? found[1]!.trim().split(/\s+/).map((r) => parseFloat(r) / 100) : [];
};
const pooled = new Map<string, { runs: number; on: number[]; control: number[] }>();
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const line of lines) {
    const cells = line.split(' | ');
    const db = cells[0]?.replace(/^\|\s*/, '');
    if (!db || cells[1] !== 'webhooks: the same requests without the platform') continue;
    const pace = lines.find((l) => l.startsWith(`| ${db} | webhooks: API rate at the pace, on vs off |`));
    const on = pace ? setsOf(pace, 'on/off') : [];
    const control = setsOf(line, 'control/off');
    if (on.length === 0 || on.length !== control.length) throw new Error(`${file}: ${db}: no sets of three rounds at the pace (reports before the sets, commit 0652363, have pairs)`);
    const p = pooled.get(db) ?? { runs: 0, on: [], control: [] };
    p.runs++;
    p.on.push(...on);
    p.control.push(...control);
    pooled.set(db, p);
  }
}
for (const [db, p] of pooled) {
  const show = (name: string, ratios: number[]) => `${name} ${medianInWords(ratios, 1)}`;
  const own = p.on.map((r, k) => r / p.control[k]!);
  console.log(`${db}: ${p.runs} runs, ${p.on.length} sets: ${show('on/off', p.on)}; ${show('control/off', p.control)}; ${show('on/control', own)}`);
}
