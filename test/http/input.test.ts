import { describe, expect, it } from 'vitest';
import { isProblem, merchantApi, type Response } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, pay, purchase } from '../support/terminal.js';

function expect400(res: Response, what: string) {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
  expect(isProblem(res), what).toBe(true);
}

describeEachStore('input that used to answer 5xx or was read loosely', (dialect) => {
  const ctx = usePlatform(dialect);

  it('refuses a NUL character wherever text enters: path, query, body, header', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!.id;
    expect400(await api('GET', `/terminals/${t}%00/transactions`), 'path');
    expect400(await api('GET', `/terminals/${t}/transactions?merchant_order_reference=a%00b`), 'query');
    expect400(await api('POST', `/terminals/${t}/transactions`, purchase(1, 'a\u0000b')), 'body');
    expect400(await api('POST', '/apikeys', { label: 'x\u0000' }), 'label');
    expect400(await api('POST', '/apikeys', { ['la\u0000bel']: 'x' }), 'member name');
    expect400(await api('POST', `/terminals/${t}/transactions`, purchase(1, 'ok'), { 'Idempotency-Key': 'k\u0000' }), 'header');
    expect400(await deviceApi(ctx().app, c.terminals[0]!.deviceToken).get('1%00'), 'device path');
    expect400(await api('POST', '/simulator/api/sessions', { terminal: 'a\u0000' }), 'simulator');
    expect((await api('GET', `/terminals/${t}/transactions`)).json()).toEqual([]);
  });

  it('reads numbers in paths and queries as decimal integers within range, or answers 400', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    for (const page of ['1e20', '0x10', '1.5', ' 1', '+1', '-1', '0', '99999999999999999999', '1e3']) {
      expect400(await api('GET', `/apikeys?page=${encodeURIComponent(page)}`), `page=${page}`);
      expect400(await api('GET', `/terminals/${c.terminals[0]!.id}/transactions?page=${encodeURIComponent(page)}`), `transactions page=${page}`);
    }
    expect400(await api('GET', '/stores?size=0x10'), 'size=0x10');
    expect((await api('GET', '/stores?page=10000000')).statusCode).toBe(200);
    expect((await api('GET', '/stores?page=10000000')).json()).toEqual([]);
    for (const id of ['0x1', '1e0', '9223372036854775808', '-1', '1.0']) expect400(await api('DELETE', `/apikeys/${id}`), `/apikeys/${id}`);
    expect((await api('DELETE', '/apikeys/9007199254740991')).statusCode).toBe(404);
    expect400(await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next('0x1' as unknown as number), 'wait=0x1');
  });

  it('refuses a leap second or an impossible date in a validity, and stores nothing', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    for (const until of ['2030-12-31T23:59:60Z', '2030-02-30T10:00:00Z', '2030-13-01T00:00:00Z', '2030-01-01T24:00:00Z', '2030-01-01 10:00:00Z', '2030-01-01T10:00:00+25:00']) {
      expect400(await api('POST', '/apikeys', { label: `leap ${until}`, validity: { until } }), until);
    }
    expect400(await api('GET', `/terminals/${c.terminals[0]!.id}/transactions?created_from=2030-06-30T23:59:60Z`), 'created_from');
    const labels = (await api('GET', '/apikeys')).json().map((k: { label: string }) => k.label);
    expect(labels).toEqual(['Initial API Key']);
    const ok = await api('POST', '/apikeys', { label: 'offset', validity: { until: '2030-01-01T10:00:00.5+02:00' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().validity.until).toBe('2030-01-01T08:00:00.500Z');
  });

  it('bounds JSON nesting, also with an Idempotency-Key', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const res = await ctx().app.inject({
      method: 'POST',
      url: `/terminals/${c.terminals[0]!.id}/transactions`,
      headers: { 'API-Key': c.apiKey, 'Content-Type': 'application/json', 'Idempotency-Key': 'deep-1' },
      payload: `{"type":"PURCHASE","x":${deep}}`,
    });
    expect400(res, 'deep');
    expect(res.json().detail).toMatch(/nests deeper than 32/);
    // a route without a body of its own (release) used to fingerprint any body for the Idempotency-Key
    const release = await ctx().app.inject({
      method: 'POST',
      url: `/terminals/${c.terminals[0]!.id}/transactions/1/release`,
      headers: { 'API-Key': c.apiKey, 'Content-Type': 'application/json', 'Idempotency-Key': 'deep-2' },
      payload: deep,
    });
    expect400(release, 'deep release');
    expect((await api('GET', '/stores')).statusCode).toBe(200);
  });

  it('refuses a body that is not valid UTF-8 instead of storing U+FFFD', async () => {
    const c = await onboard(ctx().app);
    const payload = Buffer.concat([Buffer.from('{"label":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const res = await ctx().app.inject({ method: 'POST', url: '/apikeys', headers: { 'API-Key': c.apiKey, 'Content-Type': 'application/json' }, payload });
    expect400(res, 'bad utf-8');
    const labels = (await merchantApi(ctx().app, c.apiKey)('GET', '/apikeys')).json().map((k: { label: string }) => k.label);
    expect(labels).toEqual(['Initial API Key']);
    const fine = await merchantApi(ctx().app, c.apiKey)('POST', '/apikeys', { label: 'café ✓' });
    expect(fine.json().label).toBe('café ✓');
  });

  it('validates the body of release and of the device cancel: nothing, or an empty object', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const { created } = await pay(ctx().app, c, { ...purchase(10, 'pre'), type: 'PRE_AUTHORIZATION' });
    const url = `/terminals/${c.terminals[0]!.id}/transactions/${created.json().id}/release`;
    expect400(await api('POST', url, { amount: { value: 5, currency: 'EUR' } }), 'release with amount');
    expect400(await api('POST', url, [] as unknown as object), 'release with array');
    expect((await api('GET', `/terminals/${c.terminals[0]!.id}/transactions/${created.json().id}`)).json().status).toBe('AUTHORIZED');
    expect((await api('POST', url, {})).statusCode).toBe(200);

    const other = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(3, 'cancel-me'));
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    expect((await device.next()).statusCode).toBe(200);
    const headers = { authorization: `Bearer ${c.terminals[0]!.deviceToken}` };
    const cancelUrl = `/device/v1/transactions/${other.json().id}/cancel`;
    expect400(await ctx().app.inject({ method: 'POST', url: cancelUrl, headers, payload: { reason: 'x' } }), 'cancel with body');
    expect((await device.get(other.json().id)).json().status).toBe('CREATED');
    expect((await device.cancel(other.json().id)).statusCode).toBe(200);
  });
});

describe('absolute URLs: PUBLIC_URL, or a Host that is a valid host[:port]', () => {
  const plain = usePlatform('sqlite');
  const configured = usePlatform('sqlite', { env: { PUBLIC_URL: 'https://pay.example.com/api/' } });

  const keysFor = async (app: ReturnType<typeof plain>['app']) => {
    const c = await onboard(app);
    await merchantApi(app, c.apiKey)('POST', '/apikeys', { label: 'second' });
    return c;
  };

  it('uses a valid Host and never copies an invalid one', async () => {
    const app = plain().app;
    const c = await keysFor(app);
    const api = merchantApi(app, c.apiKey);
    const good = await api('GET', '/apikeys?size=1', undefined, { host: 'pos.example.org:8443' });
    expect(good.headers.link).toContain('<http://pos.example.org:8443/apikeys?');
    for (const host of ['evil.example/<script>', 'a b', 'x:99999', 'user@host', 'host:80:81']) {
      const res = await api('GET', '/apikeys?size=1', undefined, { host });
      expect(res.statusCode, host).toBe(200);
      expect(String(res.headers.link), host).not.toContain(host);
      expect(String(res.headers.link), host).toMatch(/^<http:\/\/localhost[:/]/);
    }
  });

  it('builds Link and Location under PUBLIC_URL', async () => {
    const app = configured().app;
    const c = await keysFor(app);
    const api = merchantApi(app, c.apiKey);
    const list = await api('GET', '/apikeys?size=1', undefined, { host: 'internal:8080' });
    expect(list.headers.link).toContain('<https://pay.example.com/api/apikeys?');
    expect(list.headers.link).not.toContain('internal');
    const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1, 'loc'));
    expect(created.headers.location).toBe(`https://pay.example.com/api/terminals/${c.terminals[0]!.id}/transactions/${created.json().id}`);
  });
});
