import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAcquirer } from '../../src/acquirer/contract.js';
import { SandboxAcquirer } from '../../src/acquirer/sandbox.js';

const dir = mkdtempSync(join(tmpdir(), 'cloudpos-connector-'));
const sandboxModule = pathToFileURL(resolve('dist/acquirer/sandbox.js')).href;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real CLI, as an operator runs it against a connector file. */
function check(file: string, source: string) {
  const path = join(dir, file);
  writeFileSync(path, source);
  const run = spawnSync(process.execPath, ['bin/cloudpos.js', 'acquirer', 'check', path, '--timeout-ms', '300', '--json'], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, out: JSON.parse(run.stdout || '{}') as { passed: boolean; checks?: Array<{ check: string; passed: boolean; detail: string }>; error?: string }, stderr: run.stderr };
}

describe('the Acquirer contract checks', () => {
  it('pass for the built-in sandbox acquirer', async () => {
    const results = await checkAcquirer(new SandboxAcquirer(), undefined, { timeoutMs: 300 });
    expect(results.map((r) => r.check)).toEqual(['approve', 'decline', 'timeout', 'capture at most the authorized amount', 'release once', 'reverse, retried']);
    expect(results.filter((r) => !r.passed)).toEqual([]);
  });

  it('pass from the command line for a connector module exporting the sandbox acquirer', () => {
    const run = check('sandbox.mjs', `export { SandboxAcquirer as default } from '${sandboxModule}';\n`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.out.passed).toBe(true);
    expect(run.out.checks).toHaveLength(6);
  });

  it('fail, naming what broke, for a connector that over-captures, releases twice and ignores the timeout', () => {
    const run = check(
      'broken.mjs',
      `export default {
        async authorize(req) {
          if (req.card.number === '4000000000000119') await new Promise((r) => setTimeout(r, 1500));
          return req.card.number === '4000000000000002' ? { outcome: 'DECLINED', brand: 'VISA' } : { outcome: 'APPROVED', authorization_code: 'ABC123', brand: 'VISA' };
        },
        async capture() { return { outcome: 'ACCEPTED' }; },
        async release() { return { outcome: 'ACCEPTED' }; },
        async reverse() { return { outcome: 'REFUSED', reason: 'not supported' }; },
      };\n`,
    );
    expect(run.status).toBe(1);
    expect(run.out.passed).toBe(false);
    const failed = Object.fromEntries((run.out.checks ?? []).filter((c) => !c.passed).map((c) => [c.check, c.detail]));
    expect(Object.keys(failed).sort()).toEqual(['capture at most the authorized amount', 'release once', 'reverse, retried', 'timeout']);
    expect(failed['capture at most the authorized amount']).toMatch(/10\.01 EUR/);
    expect(run.out.checks!.find((c) => c.check === 'approve')!.passed).toBe(true);
  });

  it('refuse a module that does not implement the interface', () => {
    const run = check('half.mjs', 'export default { async authorize() { return { outcome: "DECLINED", brand: "VISA" }; } };\n');
    expect(run.status).toBe(1);
    expect(run.out.error).toMatch(/missing capture, release, reverse/);
  });
});
