import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/secrets.js';
import { merchantApi, type Method } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('/apikeys', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true });
  const call = (apiKey: string, method: Method, url: string, payload?: unknown) => merchantApi(ctx().app, apiKey)(method, url, payload);

  it('rotates a key the way the guide describes: create, switch, revoke the old one', async () => {
    const c = await onboard(ctx().app);
    const created = await call(c.apiKey, 'POST', '/apikeys', { label: '2022 2nd half' });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({ id: expect.any(Number), label: '2022 2nd half', apikey: expect.stringMatching(/^cpos_key_[A-Za-z0-9_-]{43}$/) });

    // The overview shows both keys and never a secret.
    const overview = await call(body.apikey, 'GET', '/apikeys');
    expect(overview.statusCode).toBe(200);
    expect(overview.json().map((k: { label: string }) => k.label)).toEqual(['Initial API Key', '2022 2nd half']);
    expect(overview.body).not.toContain(body.apikey);
    expect(overview.body).not.toContain(c.apiKey);
    expect(overview.body).not.toContain('cpos_key_');

    const revoked = await call(body.apikey, 'DELETE', `/apikeys/${c.keyId}`);
    expect(revoked.statusCode).toBe(204);
    expect((await call(c.apiKey, 'GET', '/stores')).statusCode).toBe(403);
    expect((await call(body.apikey, 'GET', '/stores')).statusCode).toBe(200);
    expect((await call(body.apikey, 'GET', '/apikeys')).json()).toEqual([
      expect.objectContaining({ id: body.id, label: '2022 2nd half', lastUsage: expect.any(String) }),
    ]);
  });

  it('stores only a hash of each key', async () => {
    const c = await onboard(ctx().app);
    const rows = await ctx().db.store.db.selectFrom('api_keys').selectAll().where('customer_id', '=', c.customerId).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(c.apiKey);
    expect(rows[0]!.key_hash).toBe(hashSecret(c.apiKey));
  });

  it('refuses to revoke the key making the request, and the last valid key', async () => {
    const c = await onboard(ctx().app);
    const self = await call(c.apiKey, 'DELETE', `/apikeys/${c.keyId}`);
    expect(self.statusCode).toBe(409);
    expect(self.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(self.json().detail).toMatch(/making this request/);
  });

  it('refuses to revoke the last valid key without an end date, whatever keys with an end date remain', async () => {
    const clock = ctx().clock!;
    const c = await onboard(ctx().app);
    const at = (ms: number) => new Date(clock.ms + ms).toISOString();
    const short = (await call(c.apiKey, 'POST', '/apikeys', { label: 'four seconds', validity: { until: at(4_000) } })).json();
    const later = (await call(c.apiKey, 'POST', '/apikeys', { label: 'from tomorrow', validity: { from: at(86_400_000) } })).json();
    const refused = await call(short.apikey, 'DELETE', `/apikeys/${c.keyId}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ status: 409, detail: expect.stringMatching(/no valid API key without an end date/) });
    expect((await call(c.apiKey, 'GET', '/stores')).statusCode).toBe(200);
    // a key that is not valid yet, or ends, does not keep the customer in; revoking one is fine
    // while a lasting key remains
    expect((await call(c.apiKey, 'DELETE', `/apikeys/${later.id}`)).statusCode).toBe(204);
    expect((await call(c.apiKey, 'DELETE', `/apikeys/${short.id}`)).statusCode).toBe(204);
    const short2 = (await call(c.apiKey, 'POST', '/apikeys', { label: 'an hour', validity: { until: at(3_600_000) } })).json();
    const lasting = (await call(c.apiKey, 'POST', '/apikeys', { label: 'lasting' })).json();
    expect((await call(short2.apikey, 'DELETE', `/apikeys/${c.keyId}`)).statusCode).toBe(204);
    expect((await call(c.apiKey, 'GET', '/stores')).statusCode).toBe(403);
    expect((await call(short2.apikey, 'DELETE', `/apikeys/${lasting.id}`)).statusCode).toBe(409);
    clock.advance(3_600_000);
    expect((await call(lasting.apikey, 'GET', '/stores')).statusCode).toBe(200);
  });

  it('ends two crossing revocations with exactly one key left', async () => {
    for (let round = 0; round < 10; round++) {
      const c = await onboard(ctx().app);
      const second = (await call(c.apiKey, 'POST', '/apikeys', { label: 'second' })).json();
      const [a, b] = await Promise.all([call(c.apiKey, 'DELETE', `/apikeys/${second.id}`), call(second.apikey, 'DELETE', `/apikeys/${c.keyId}`)]);
      // The loser either finds no other lasting key (409) or, when the winner committed before the
      // loser's key was checked, arrives with a key that is already revoked (403).
      const loser = a.statusCode === 204 ? b : a;
      expect([a.statusCode, b.statusCode]).toContain(204);
      expect([403, 409]).toContain(loser.statusCode);
      expect(loser.json().detail).toMatch(loser.statusCode === 409 ? /no valid API key without an end date/ : /revoked/);
      const left = await ctx().db.store.db
        .selectFrom('api_keys')
        .select('id')
        .where('customer_id', '=', c.customerId)
        .where('revoked_at', 'is', null)
        .execute();
      expect(left).toHaveLength(1);
    }
  });

  it('answers 404 for an unknown key and for another customer’s key', async () => {
    const a = await onboard(ctx().app);
    const b = await onboard(ctx().app);
    expect((await call(a.apiKey, 'DELETE', '/apikeys/999999')).statusCode).toBe(404);
    const other = await call(a.apiKey, 'DELETE', `/apikeys/${b.keyId}`);
    expect(other.statusCode).toBe(404);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await call(b.apiKey, 'GET', '/apikeys')).statusCode).toBe(200);
  });

  it('honours validity: not yet valid and expired keys get 403, expired ones leave the overview', async () => {
    const clock = ctx().clock!;
    const c = await onboard(ctx().app);
    const now = clock.ms;
    const later = await call(c.apiKey, 'POST', '/apikeys', {
      label: 'next half',
      validity: { from: new Date(now + 3_600_000).toISOString(), until: new Date(now + 7_200_000).toISOString() },
    });
    expect(later.statusCode).toBe(201);
    const key = later.json();
    expect(key.validity).toEqual({ from: new Date(now + 3_600_000).toISOString(), until: new Date(now + 7_200_000).toISOString() });

    const early = await call(key.apikey, 'GET', '/stores');
    expect(early.statusCode).toBe(403);
    expect(early.json().detail).toMatch(/not valid yet/);
    // Listed although it starts later.
    expect((await call(c.apiKey, 'GET', '/apikeys')).json().map((k: { id: number }) => k.id)).toContain(key.id);

    clock.advance(3_600_000 + 1);
    expect((await call(key.apikey, 'GET', '/stores')).statusCode).toBe(200);
    clock.advance(3_600_000);
    const expired = await call(key.apikey, 'GET', '/stores');
    expect(expired.statusCode).toBe(403);
    expect(expired.json().detail).toMatch(/expired/);
    expect((await call(c.apiKey, 'GET', '/apikeys')).json().map((k: { id: number }) => k.id)).not.toContain(key.id);
  });

  it('refuses a validity that ends before it starts, or has already ended', async () => {
    const c = await onboard(ctx().app);
    const now = ctx().clock!.ms;
    const backwards = await call(c.apiKey, 'POST', '/apikeys', {
      label: 'x',
      validity: { from: new Date(now + 7_200_000).toISOString(), until: new Date(now + 3_600_000).toISOString() },
    });
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().detail).toMatch(/later than/);
    const past = await call(c.apiKey, 'POST', '/apikeys', { label: 'x', validity: { until: new Date(now - 1000).toISOString() } });
    expect(past.statusCode).toBe(400);
    expect((await call(c.apiKey, 'GET', '/apikeys')).json()).toHaveLength(1);
  });

  it('requires a label and refuses unknown members', async () => {
    const c = await onboard(ctx().app);
    const missing = await call(c.apiKey, 'POST', '/apikeys', {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([{ pointer: '/label', in: 'body', detail: 'is required' }]);
    const extra = await call(c.apiKey, 'POST', '/apikeys', { label: 'x', owner: 'me' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().errors).toEqual([{ pointer: '/owner', in: 'body', detail: 'is not a known member' }]);
    const badDate = await call(c.apiKey, 'POST', '/apikeys', { label: 'x', validity: { from: 'tomorrow' } });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().errors[0].pointer).toBe('/validity/from');
    expect((await call(c.apiKey, 'GET', '/apikeys')).json()).toHaveLength(1);
  });

  it('shows lastUsage from the first use, writing at most once a minute', async () => {
    const clock = ctx().clock!;
    const c = await onboard(ctx().app);
    const fresh = (await call(c.apiKey, 'POST', '/apikeys', { label: 'unused' })).json();
    const list = (await call(c.apiKey, 'GET', '/apikeys')).json();
    const first = list.find((k: { id: number }) => k.id === c.keyId);
    expect(first.lastUsage).toBe(new Date(clock.ms).toISOString());
    expect(list.find((k: { id: number }) => k.id === fresh.id).lastUsage).toBeUndefined();

    const stored = async () =>
      (await ctx().db.store.db.selectFrom('api_keys').select('last_used_at').where('id', '=', c.keyId).executeTakeFirstOrThrow()).last_used_at;
    await new Promise((r) => setTimeout(r, 50));
    const written = await stored();
    clock.advance(10_000);
    await call(c.apiKey, 'GET', '/stores');
    await new Promise((r) => setTimeout(r, 50));
    expect(await stored()).toBe(written);
    // …yet the overview already shows the newer use.
    const shown = (await call(c.apiKey, 'GET', '/apikeys')).json().find((k: { id: number }) => k.id === c.keyId);
    expect(shown.lastUsage).toBe(new Date(clock.ms).toISOString());
    clock.advance(60_000);
    await call(c.apiKey, 'GET', '/stores');
    await new Promise((r) => setTimeout(r, 50));
    expect(await stored()).toBe(clock.ms);
  });
});

describe('API key format', () => {
  it('is long, random and recognisable', async () => {
    const { newSecret, API_KEY_PREFIX } = await import('../../src/secrets.js');
    const keys = new Set(Array.from({ length: 1000 }, () => newSecret(API_KEY_PREFIX)));
    expect(keys.size).toBe(1000);
    for (const k of keys) expect(k).toMatch(/^cpos_key_[A-Za-z0-9_-]{43}$/);
  });
});
