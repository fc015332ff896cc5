import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cloudpos } from './run.js';

/** One line on stderr, no stack trace, nothing on stdout. */
function expectOneLine(r: { stdout: string; stderr: string }) {
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

describe('cloudpos serve stops with one line and an exit code of its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudpos-errors-'));
  const base = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['CLOUDPOS_ENV', 'staging', /^CLOUDPOS_ENV="staging": must be one of sandbox, production$/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent$/],
    ['PORT', 'eighty', /^PORT="eighty": must be a whole number from 0 to 65535$/],
    ['TRUST_PROXY', 'maybe', /^TRUST_PROXY="maybe": must be true or false$/],
  ])('a bad setting %s=%s: 78, naming it and what it may be', async (key, value, line) => {
    const r = await cloudpos(['serve'], { ...base, [key]: value });
    expect(r.code).toBe(78);
    expectOneLine(r);
    expect(r.stderr.trim()).toMatch(line);
  });

  it('an unsupported DATABASE_URL: 78 and the schemes it may use, in words, its password masked', async () => {
    const r = await cloudpos(['serve'], { ...base, DATABASE_URL: 'mysql://shop:hunter2@db.example.com/pos' });
    expect(r.code).toBe(78);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^DATABASE_URL="mysql:\/\/shop:\*\*\*@db.example.com\/pos": the mysql: scheme is not supported; use sqlite:PATH .* or postgres:\/\//);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\^|\(\?|\\\//); // no regular expression
  });

  it('a port another process holds: 75, naming PORT, and nothing onboarded', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await cloudpos(['serve'], { ...base, DATABASE_URL: `sqlite:${join(dir, 'busy.sqlite')}`, PORT: String(port) });
      expect(r.code).toBe(75);
      expectOneLine(r);
      expect(r.stderr).toMatch(new RegExp(`^PORT=${port} on HOST=127.0.0.1 is in use by another process`));
    } finally {
      taken.close();
    }
  });

  it.each([
    ['a name that does not resolve', 'no-such-host.invalid', /does not resolve/],
    ['an address of no interface here', '192.0.2.1', /is not an address of this machine/],
  ])('HOST as %s: 68, naming HOST', async (_what, host, why) => {
    const r = await cloudpos(['serve'], { ...base, HOST: host });
    expect(r.code).toBe(68);
    expectOneLine(r);
    expect(r.stderr).toMatch(new RegExp(`^HOST="${host.replaceAll('.', '\\.')}"`));
    expect(r.stderr).toMatch(why);
  });

  it('a PostgreSQL server that does not answer: 69, naming the database, password masked', async () => {
    const r = await cloudpos(['serve'], { ...base, DATABASE_URL: 'postgres://pos:hunter2@127.0.0.1:1/pos' });
    expect(r.code).toBe(69);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^cannot reach PostgreSQL at postgres:\/\/pos:\*\*\*@127\.0\.0\.1:1\/pos \(ECONNREFUSED\)/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('a PostgreSQL server that accepts and never answers: 69 once connect_timeout has passed', async () => {
    // As a host dropping packets looks, but without the kernel's two minutes of retries.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await cloudpos(['serve'], { ...base, DATABASE_URL: `postgres://pos:hunter2@127.0.0.1:${port}/pos?connect_timeout=1` });
      expect(r.code).toBe(69);
      expectOneLine(r);
      expect(r.stderr).toMatch(new RegExp(`^cannot reach PostgreSQL at postgres://pos:\\*\\*\\*@127\\.0\\.0\\.1:${port}/pos`));
      expect(r.stderr).toMatch(/connect_timeout/);
      expect(r.stderr).not.toContain('hunter2');
    } finally {
      silent.close();
    }
  });

  it.skipIf(!inject('pgAvailable'))('a PostgreSQL database that does not exist: 69, naming it', async () => {
    const url = new URL(inject('pgAdminUrl'));
    url.pathname = '/cloudpos_no_such_database';
    const r = await cloudpos(['serve'], { ...base, DATABASE_URL: url.toString() });
    expect(r.code).toBe(69);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^PostgreSQL has no database "cloudpos_no_such_database" at .*: create it/);
  });

  it('a file that is not a SQLite database: 69', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'not a database, just some words that fill more than a page header '.repeat(100));
    const r = await cloudpos(['serve'], { ...base, DATABASE_URL: `sqlite:${file}` });
    expect(r.code).toBe(69);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^cannot open the SQLite database sqlite:.*notes\.txt/);
  });

  it('a TLS certificate that cannot be read: 78, naming the setting', async () => {
    const r = await cloudpos(['serve'], { ...base, TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: join(dir, 'missing.key') });
    expect(r.code).toBe(78);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^TLS_CERT_FILE=".*missing\.pem": cannot be read \(ENOENT\)/);
    expect(existsSync(join(dir, 'db.sqlite'))).toBe(true); // the sandbox had migrated it; nothing else
  });
});
