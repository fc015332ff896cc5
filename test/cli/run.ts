import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BIN, ROOT } from '../simulator/process.js';

const exec = promisify(execFile);

/** `node bin/cloudpos.js …` to its end: exit code, stdout, stderr and how long it took. */
export async function cloudpos(args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const r = await exec(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 30_000 }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  return { ...r, ms: performance.now() - started };
}

