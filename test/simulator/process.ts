import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/cloudpos.js`;

export interface Spawned {
  proc: ChildProcess;
  output: () => string;
  /** resolves with the output once it matches, fails after `ms` with what was printed */
  waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpMatchArray>;
  exit: Promise<number | null>;
  write: (line: string) => void;
}

/** Runs `node bin/cloudpos.js …` (the built dist/), collecting stdout and stderr together. */
export function spawnCloudpos(args: string[], env: Record<string, string> = {}): Spawned {
  if (!existsSync(`${ROOT}dist/bundle/main.js`)) throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, ms = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${pattern} in:\n${out}`));
      }, ms);
      listeners.add(check);
      check();
    });
  return { proc, output: () => out, waitFor, exit, write: (line) => proc.stdin!.write(`${line}\n`) };
}

/** Output printed after `marker` (the first occurrence), to wait for something that comes later. */
export function after(output: string, marker: string): string {
  const i = output.indexOf(marker);
  return i < 0 ? '' : output.slice(i + marker.length);
}
