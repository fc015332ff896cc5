import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../simulator/process.js';

const exec = promisify(execFile);

/** `npm start` builds only what changed: scripts/build.mjs --if-stale, on a small copy of the layout. */
describe('scripts/build.mjs --if-stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(ROOT, 'scripts/build.mjs'), join(dir, 'scripts/build.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const options = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], skipLibCheck: true, incremental: true };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options }));
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' }, include: ['src'] }));
  mkdirSync(join(dir, 'src/webhooks'), { recursive: true });
  writeFileSync(join(dir, 'src/main.ts'), 'export const x: number = 1;\n');
  // The bundle's second entry, the webhook send thread's.
  writeFileSync(join(dir, 'src/webhooks/send-thread.ts'), 'export const w: number = 3;\n');
  mkdirSync(join(dir, 'client/src'), { recursive: true });
  writeFileSync(join(dir, 'client/tsconfig.json'), JSON.stringify({ compilerOptions: { ...options, rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' }, include: ['src'] }));
  writeFileSync(join(dir, 'client/src/index.ts'), 'export const y: number = 2;\n');

  const build = async () => (await exec(process.execPath, [join(dir, 'scripts/build.mjs'), '--if-stale'], { cwd: dir, timeout: 60_000 })).stderr;
  const stampOf = (path: string) => statSync(join(dir, path)).mtimeMs;

  it('builds what is missing, then nothing while the sources are unchanged, then only the changed project', async () => {
    expect(await build()).toMatch(/building the client[\s\S]*building the server/);
    statSync(join(dir, 'dist/main.js'));
    const server = stampOf('dist/.build-stamp');
    const client = stampOf('client/dist/.build-stamp');

    expect(await build()).toBe('');
    expect([stampOf('dist/.build-stamp'), stampOf('client/dist/.build-stamp')]).toEqual([server, client]);

    await new Promise((r) => setTimeout(r, 50));
    const now = new Date();
    utimesSync(join(dir, 'src/main.ts'), now, now); // saved after the last build
    expect(await build()).toBe('building the server (sources changed since the last build)…\n');
    expect(stampOf('client/dist/.build-stamp')).toBe(client);

    // A new file changes its directory, even with an old modification time of its own.
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(join(dir, 'client/src/extra.ts'), 'export const z = 3;\n');
    utimesSync(join(dir, 'client/src/extra.ts'), new Date(0), new Date(0));
    expect(await build()).toBe('building the client (sources changed since the last build)…\n');
    expect(await build()).toBe('');
  }, 120_000);
});
