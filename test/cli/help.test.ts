import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../simulator/process.js';
import { cloudpos } from './run.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('cloudpos --help and --version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-help-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Settings that would start something if the help did not stop first.
  const env = { DATABASE_URL: `sqlite:${join(dir, 'never.sqlite')}`, PORT: '0', HOST: '127.0.0.1', CLOUDPOS_ENV: 'staging' };

  it.each([
    [['serve', '--help'], 'usage: cloudpos serve'],
    [['serve', '-h'], 'usage: cloudpos serve'],
    [['help', 'serve'], 'usage: cloudpos serve'],
    [['migrate', '--help'], 'usage: cloudpos migrate'],
    [['admin', '--help'], 'usage: cloudpos admin <resource> <action>'],
    [['admin', 'terminal', '--help'], 'usage: cloudpos admin terminal <action>'],
    [['admin', 'terminal', 'register', '--help'], 'usage: cloudpos admin terminal register --store UUID'],
    [['admin', 'apikey', 'revoke', '--help'], 'usage: cloudpos admin apikey revoke --customer ID --id KEY_ID [--force]'],
    [['terminal', '--help'], 'usage: cloudpos terminal <run|qr>'],
    [['terminal', 'run', '--help'], 'usage: cloudpos terminal run'],
    [['terminal', 'qr', '--help'], 'usage: cloudpos terminal qr'],
    [['acquirer', '--help'], 'usage: cloudpos acquirer check'],
    [['acquirer', 'check', '--help'], 'usage: cloudpos acquirer check'],
    [['--help'], 'usage: cloudpos <command>'],
  ])('%j prints its own usage on stdout and exits 0, starting nothing', async (args, usage) => {
    const r = await cloudpos(args, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(usage), r.stdout).toBe(true);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/listening/);
    expect(existsSync(join(dir, 'never.sqlite'))).toBe(false);
  });

  it('gives each command its own usage, not the whole list', async () => {
    const serve = (await cloudpos(['serve', '--help'])).stdout;
    const register = (await cloudpos(['admin', 'terminal', 'register', '--help'])).stdout;
    expect(serve).not.toMatch(/customer create|terminal run/);
    expect(register).not.toMatch(/apikey|customer create/);
    expect((await cloudpos(['terminal', 'qr', '--help'])).stdout).not.toMatch(/--outcome/);
  });

  it('prints the version and exits 0, loading no server and no database module', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await cloudpos(['--version']));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`cloudpos ${VERSION}\n`);
    }
    console.info(`cloudpos --version: ${runs.map((r) => `${r.ms.toFixed(0)} ms`).join(', ')}`);
    // What main loads before it knows the command: nothing but itself, its texts and node:fs.
    const main = readFileSync(join(ROOT, 'dist/main.js'), 'utf8');
    const staticImports = [...main.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(staticImports.sort()).toEqual(['./cli/usage.js', './exit-codes.js', './package-root.js', 'node:fs', 'node:path']);
    // The bundle `cloudpos` runs keeps that: what its main.js imports before the command is known
    // (followed through the shared chunks) is a few small files and node's own modules.
    const loaded = new Map<string, number>();
    const follow = (file: string) => {
      const text = readFileSync(join(ROOT, 'dist/bundle', file), 'utf8');
      loaded.set(file, text.length);
      for (const [, from] of text.matchAll(/^import\s*(?:[\w*{}\s,]+from\s*)?["']([^"']+)["'];?$/gm)) {
        if (from!.startsWith('./') && !loaded.has(from!.slice(2))) follow(from!.slice(2));
        else if (!from!.startsWith('./')) expect(from, `${file} imports ${from}`).toMatch(/^node:/);
      }
    };
    follow('main.js');
    const bytes = [...loaded.values()].reduce((a, b) => a + b, 0);
    expect(bytes, [...loaded.keys()].join(', ')).toBeLessThan(50_000);
  });

  it('answers a missing or unknown command with the usage on stderr and exit code 64', async () => {
    for (const args of [[], ['bogus'], ['serve', 'now'], ['migrate', '--jsn'], ['admin', 'customer', 'create', '--name', 'x', '--serial', 'S1'], ['admin', 'customer', 'destroy'], ['terminal', 'run', '--bogus'], ['terminal', 'fly'], ['acquirer', 'check']]) {
      const r = await cloudpos(args, env);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr, args.join(' ')).toMatch(/usage: cloudpos/);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });
});
