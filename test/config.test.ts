import { execFile } from 'node:child_process';
import { resolve, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const ROOT = resolve(import.meta.dirname, '..');

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'sqlite:./data/cloudpos.sqlite',
      CLOUDPOS_ENV: 'sandbox',
      TRUST_PROXY: false,
      LOG_LEVEL: 'warn',
      TRANSACTION_EXPIRY_MS: 300_000,
    });
    expect(c.TLS_CERT_FILE).toBeUndefined();
    expect(c.TLS_KEY_FILE).toBeUndefined();
  });

  it('treats empty settings as unset', () => {
    expect(loadConfig({ PORT: '', TRUST_PROXY: '' })).toMatchObject({ PORT: 8080, TRUST_PROXY: false });
  });

  it('converts settings to their types', () => {
    expect(loadConfig({ PORT: '9090', TRUST_PROXY: 'true', BODY_LIMIT_BYTES: '2048', DATABASE_URL: 'postgres://u@h/db' })).toMatchObject({
      PORT: 9090,
      TRUST_PROXY: true,
      BODY_LIMIT_BYTES: 2048,
      DATABASE_URL: 'postgres://u@h/db',
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['LOG_LEVEL', 'loud'],
    ['CLOUDPOS_ENV', 'staging'],
    ['TRUST_PROXY', 'maybe'],
    ['BODY_LIMIT_BYTES', '10'],
    ['POLL_INTERVAL_MS', '-5'],
    ['AUTH_CACHE_MS', 'soon'],
  ])('refuses %s=%s and names it', (name, value) => {
    const message = refusal({ [name]: value });
    expect(message).toContain(name);
    expect(message).toContain(value);
  });

  it('names every bad setting at once', () => {
    const message = refusal({ PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(message).toContain('PORT');
    expect(message).toContain('LOG_LEVEL');
  });

  it('refuses a TLS certificate without a key, and a key without a certificate', () => {
    expect(refusal({ TLS_CERT_FILE: '/etc/cert.pem' })).toMatch(/TLS_CERT_FILE.*TLS_KEY_FILE|TLS_KEY_FILE.*TLS_CERT_FILE/);
    expect(refusal({ TLS_KEY_FILE: '/etc/key.pem' })).toMatch(/TLS_CERT_FILE.*TLS_KEY_FILE|TLS_KEY_FILE.*TLS_CERT_FILE/);
    expect(loadConfig({ TLS_CERT_FILE: '/etc/cert.pem', TLS_KEY_FILE: '/etc/key.pem' })).toMatchObject({ TLS_CERT_FILE: '/etc/cert.pem' });
  });

  it('stops `cloudpos serve` with a clear message when PORT is bad', async () => {
    const run = promisify(execFile)(process.execPath, [join(ROOT, 'bin/cloudpos.js'), 'serve'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'abc', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' },
      timeout: 20_000,
    });
    const failure = (await run.then(
      () => {
        throw new Error('serve started with PORT=abc');
      },
      (e: unknown) => e,
    )) as { code?: number; killed?: boolean; stderr?: string };
    expect(failure.killed).toBeFalsy();
    expect(typeof failure.code === 'number' && failure.code !== 0).toBe(true);
    expect(failure.stderr).toMatch(/PORT/);
    expect(failure.stderr).toMatch(/abc/);
    expect(failure.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
