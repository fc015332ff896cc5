/** Heap snapshots of a server process (started with --heapsnapshot-signal=SIGWINCH: the platform's
 * graceful shutdown takes SIGUSR2), summed by kind
 * of object: what a held poll costs, object by object, is the difference of two of them. */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './lib.js';

export type HeapSummary = Map<string, { count: number; bytes: number }>;

/** Asks the process for a snapshot and waits until the file is whole; answers its summary. */
export async function snapshot(pid: number, dir: string, timeoutMs = 180_000): Promise<HeapSummary> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  process.kill(pid, 'SIGWINCH');
  const deadline = Date.now() + timeoutMs;
  let file: string | undefined;
  let size = -1;
  let stableSince = 0;
  while (Date.now() < deadline) {
    await sleep(250);
    file ??= (existsSync(dir) ? readdirSync(dir) : []).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const now = statSync(join(dir, file)).size;
    if (now !== size) {
      size = now;
      stableSince = Date.now();
      continue;
    }
    // The writer is done once the size holds still and the JSON closes.
    if (Date.now() - stableSince < 1_000) continue;
    try {
      const summary = summarize(readFileSync(join(dir, file), 'utf8'));
      rmSync(join(dir, file), { force: true });
      return summary;
    } catch {
      // not whole yet
    }
  }
  throw new Error(`no heap snapshot of process ${pid} in ${dir} within ${timeoutMs / 1000} s`);
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per kind: an object by its constructor, a closure by its function's name,
 * everything else by its type (strings, arrays, code, hidden, native). */
export function summarize(text: string): HeapSummary {
  const s = JSON.parse(text) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out: HeapSummary = new Map();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]!]!;
    const name = s.strings[s.nodes[i + nameAt]!]!;
    const key = type === 'object' ? name : type === 'closure' ? `closure ${name || '(anonymous)'}` : `(${type})`;
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += s.nodes[i + sizeAt]!;
    out.set(key, entry);
  }
  return out;
}

/** What `after` holds more than `before`, per unit of `per` (a held poll), largest first. */
export function difference(before: HeapSummary, after: HeapSummary, per: number) {
  const rows: Array<{ kind: string; count: number; bytes: number }> = [];
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { count: 0, bytes: 0 };
    rows.push({ kind, count: (a.count - b.count) / per, bytes: (a.bytes - b.bytes) / per });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}

export const total = (h: HeapSummary) => [...h.values()].reduce((sum, e) => sum + e.bytes, 0);
