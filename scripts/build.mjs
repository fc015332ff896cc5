#!/usr/bin/env node
/**
 * Builds the typed client (client/dist/) and the server with tsc (dist/: checked types, and the
 * modules a connector or a test may import), then bundles the server with esbuild into
 * dist/bundle/, which `cloudpos` runs: one file per command instead of ~950 modules to resolve and
 * load makes a start about twice as fast. Native and file-serving packages stay outside the bundle.
 *
 *   node scripts/build.mjs              build both (tsc is incremental)
 *   node scripts/build.mjs --if-stale   build only what a source changed since the last build
 *
 * `npm start` and `npm test` use --if-stale: on a current build it costs one walk over the source
 * files' modification times (milliseconds) instead of tsc's own check (seconds). A build stamps
 * its output with the time it began, so a file saved during a build is built next time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The client first: the simulator in the server imports it.
const PROJECTS = [
  { name: 'client', tsconfig: 'client/tsconfig.json', inputs: ['client/src', 'client/tsconfig.json'], output: 'client/dist/index.js', stamp: 'client/dist/.build-stamp' },
  { name: 'server', tsconfig: 'tsconfig.build.json', inputs: ['src', 'tsconfig.json', 'tsconfig.build.json'], output: 'dist/bundle/main.js', stamp: 'dist/.build-stamp', bundle: { main: 'src/main.ts', 'send-thread': 'src/webhooks/send-thread.ts' } },
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

/** One ES module per command and one for the webhook send thread (a worker thread's entry), esbuild's
 * code splitting sharing what they have in common, with the dependencies inside except native ones
 * (better-sqlite3, pg-native) and @fastify/swagger-ui, which serves files from its own directory.
 * Those are loaded with `require`, which an ES module lacks. */
async function bundle(entries, outdir) {
  const { build } = await import('esbuild');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, join(ROOT, path)])),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'pg-native', '@fastify/swagger-ui'],
    banner: { js: "import { createRequire as __cloudposRequire } from 'node:module'; const require = __cloudposRequire(import.meta.url);" },
    // keepNames would wrap every function and class the code creates in a name-setting call: a
    // third fewer requests per second measured in bench/, for names nothing reads.
    // V8 keeps every script's source in the heap. Without comments and spaces the server's was
    // 1.4 MB instead of 4.5 (a comment with a character outside Latin-1 made the whole text two
    // bytes a character): 5.5 MB less JS heap in every process. Names stay, so a stack trace
    // still says which function; the linked source map gives the line in the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

const ifStale = process.argv.includes('--if-stale');
for (const project of PROJECTS) {
  if (ifStale && !isStale(project)) continue;
  const began = new Date();
  if (ifStale) process.stderr.write(`building the ${project.name} (sources changed since the last build)…\n`);
  const run = spawnSync(process.execPath, [TSC, '-p', project.tsconfig], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  if (project.bundle) await bundle(project.bundle, join(ROOT, dirname(project.output)));
  const stamp = join(ROOT, project.stamp);
  writeFileSync(stamp, '');
  utimesSync(stamp, began, began);
}
