import { describe, expect, it } from 'vitest';
import { isInternalAddress, parseSchedule, refuseUrl } from '../../src/webhooks/url-policy.js';
import { eventBody, eventJson } from '../../src/webhooks/event-types.js';
import { newSigningSecret, parseEncryptionKey, SecretBox, signatureHeader, signingKey } from '../../src/webhooks/secrets.js';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { verify } from '../support/receiver.js';
import { describeEachStore } from '../support/stores.js';

const PRODUCTION = { CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: 'cd'.repeat(32) };

describe('webhook URL policy', () => {
  it('knows loopback, private and link-local addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '100.64.0.1']) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111']) expect(isInternalAddress(a), a).toBe(false);
  });

  it('refuses what is not http(s) everywhere, and in production http:// and internal hosts unless allowed', async () => {
    const sandbox = { production: false, allowPrivate: false };
    const production = { production: true, allowPrivate: false };
    expect(await refuseUrl('http://127.0.0.1:8080/x', sandbox)).toBeUndefined();
    expect(await refuseUrl('ftp://example.com', sandbox)).toMatch(/http/);
    expect(await refuseUrl('nope', sandbox)).toMatch(/not an absolute URL/);
    expect(await refuseUrl('http://93.184.216.34/x', production)).toMatch(/https/);
    for (const url of ['https://127.0.0.1/x', 'https://10.0.0.7/x', 'https://[::1]/x', 'https://169.254.169.254/latest', 'https://localhost/x']) {
      expect(await refuseUrl(url, production), url).toMatch(/loopback, private or link-local/);
    }
    expect(await refuseUrl('https://93.184.216.34/x', production)).toBeUndefined();
    expect(await refuseUrl('https://10.0.0.7/x', { production: true, allowPrivate: true })).toBeUndefined();
  });

  it('reads retry schedules and encryption keys', () => {
    expect(parseSchedule('5s,5m,30m,2h,5h,10h,10h')).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(parseSchedule('100ms, 1s')).toEqual([100, 1_000]);
    expect(parseSchedule('5x')).toBeUndefined();
    expect(parseEncryptionKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseEncryptionKey(Buffer.alloc(32, 1).toString('base64'))).toHaveLength(32);
    expect(parseEncryptionKey('ab'.repeat(16))).toBeUndefined();
  });

  it('signs as Standard Webhooks says, and seals secrets to their endpoint', () => {
    const secret = newSigningSecret();
    const body = '{"id":"evt_1"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signatureHeader([secret], 'evt_1', timestamp, body);
    expect(verify(secret, { id: 'evt_1', timestamp: String(timestamp), signature, body, event: JSON.parse(body) })).toEqual({ id: 'evt_1' });
    const box = new SecretBox(parseEncryptionKey('ef'.repeat(32))!);
    const sealed = box.seal(secret, 'we_a');
    expect(box.open(sealed, 'we_a')).toBe(secret);
    expect(() => box.open(sealed, 'we_b')).toThrow();
    // A secret given as its key signs the same.
    expect(signatureHeader([signingKey(secret)], 'evt_1', timestamp, body)).toBe(signature);
  });

  it('sends an event as the events API shows it', () => {
    const row = { id: 'evt_2', type: 'transaction.cleared', created_at: 1_700_000_000_123, sequence: 4, data: JSON.stringify({ id: 'tx "1"', amount: { value: 4.2, currency: 'EUR' }, note: 'é\n' }) };
    expect(eventBody(row)).toBe(JSON.stringify(eventJson(row)));
  });
});

describeEachStore('webhook endpoints in production', (dialect) => {
  const ctx = usePlatform(dialect, { env: PRODUCTION });

  it('are https:// to public hosts only: 400 problems otherwise', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    for (const url of ['http://93.184.216.34/hooks', 'https://127.0.0.1/hooks', 'https://192.168.0.10/hooks', 'https://[fe80::1]/hooks']) {
      const res = await api('POST', '/webhook-endpoints', { url });
      expect(res.statusCode, url).toBe(400);
      expect(isProblem(res)).toBe(true);
    }
    expect((await api('POST', '/webhook-endpoints', { url: 'https://93.184.216.34/hooks' })).statusCode).toBe(201);
  });
});

describeEachStore('webhook endpoints in production with WEBHOOK_ALLOW_PRIVATE=true', (dialect) => {
  const ctx = usePlatform(dialect, { env: { ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE: 'true' } });

  it('accept a private address, still https:// only', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    expect((await api('POST', '/webhook-endpoints', { url: 'https://10.0.0.7/hooks' })).statusCode).toBe(201);
    expect((await api('POST', '/webhook-endpoints', { url: 'http://10.0.0.7/hooks' })).statusCode).toBe(400);
  });
});
