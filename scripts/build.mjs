#!/usr/bin/env node
/**
 * Builds the server (dist/) and the typed client (client/dist/) with tsc.
 *
 *   node scripts/build.mjs              build both (tsc is incremental)
 *   node scripts/build.mjs --if-stale   build only what a source changed since the last build
 *
 * `npm start` and `npm test` use --if-stale: on a current build it costs one walk over the source
 * files' modification times (milliseconds) instead of tsc's own check (seconds). A build stamps
 * its output with the time it began, so a file saved during a build is built next time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The client first: the simulator in the server imports it.
const PROJECTS = [
  { name: 'client', tsconfig: 'client/tsconfig.json', inputs: ['client/src', 'client/tsconfig.json'], output: 'client/dist/index.js', stamp: 'client/dist/.build-stamp' },
  { name: 'server', tsconfig: 'tsconfig.build.json', inputs: ['src', 'tsconfig.json', 'tsconfig.build.json'], output: 'dist/main.js', stamp: 'dist/.build-stamp' },
];

/** The latest modification time under `path`: files, and directories (a file added, removed or renamed). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function isStale(project) {
  const stamp = join(ROOT, project.stamp);
  if (!existsSync(stamp) || !existsSync(join(ROOT, project.output))) return true;
  const built = statSync(stamp).mtimeMs;
  return project.inputs.some((input) => newest(join(ROOT, input)) > built);
}

const ifStale = process.argv.includes('--if-stale');
for (const project of PROJECTS) {
  if (ifStale && !isStale(project)) continue;
  const began = new Date();
  if (ifStale) process.stderr.write(`building the ${project.name} (sources changed since the last build)…\n`);
  const run = spawnSync(process.execPath, [TSC, '-p', project.tsconfig], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  const stamp = join(ROOT, project.stamp);
  writeFileSync(stamp, '');
  utimesSync(stamp, began, began);
}
