import { expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { pay, purchase } from '../support/terminal.js';

describeEachStore('Idempotency-Key', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true });
  const countTx = async (ref: string) =>
    (await ctx().db.store.db.selectFrom('transactions').select('id').where('merchant_order_reference', '=', ref).execute()).length;

  it('answers the first response again for the same key and body', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const url = `/terminals/${c.terminals[0]!.id}/transactions`;
    const first = await api('POST', url, purchase(98.75, 'idem-1'), { 'Idempotency-Key': 'k1' });
    expect(first.statusCode).toBe(201);
    // The same body with its members in another order is the same request.
    const again = await api('POST', url, { amount: { currency: 'EUR', value: 98.75 }, merchant_order_reference: 'idem-1', type: 'PURCHASE' }, { 'Idempotency-Key': 'k1' });
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await countTx('idem-1')).toBe(1);
  });

  it('refuses the same key with another body with 422', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const url = `/terminals/${c.terminals[0]!.id}/transactions`;
    await api('POST', url, purchase(1, 'idem-2'), { 'Idempotency-Key': 'k2' });
    const other = await api('POST', url, purchase(2, 'idem-2'), { 'Idempotency-Key': 'k2' });
    expect(other.statusCode).toBe(422);
    expect(other.headers['content-type']).toMatch(/problem\+json/);
    expect(await countTx('idem-2')).toBe(1);
  });

  it('scopes keys to the customer', async () => {
    const a = await onboard(ctx().app);
    const b = await onboard(ctx().app);
    const ra = await merchantApi(ctx().app, a.apiKey)('POST', `/terminals/${a.terminals[0]!.id}/transactions`, purchase(1, 'idem-3'), { 'Idempotency-Key': 'shared' });
    const rb = await merchantApi(ctx().app, b.apiKey)('POST', `/terminals/${b.terminals[0]!.id}/transactions`, purchase(1, 'idem-3'), { 'Idempotency-Key': 'shared' });
    expect(ra.statusCode).toBe(201);
    expect(rb.statusCode).toBe(201);
    expect(rb.json().id).not.toBe(ra.json().id);
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps a response at least 24 hours', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const url = `/terminals/${c.terminals[0]!.id}/transactions`;
    const first = await api('POST', url, purchase(1, 'idem-4'), { 'Idempotency-Key': 'k4' });
    ctx().clock!.advance(24 * 60 * 60 * 1000 - 1000);
    const replay = await api('POST', url, purchase(1, 'idem-4'), { 'Idempotency-Key': 'k4' });
    expect(replay.body).toBe(first.body);
    expect(await countTx('idem-4')).toBe(1);
  });

  it('runs a retry again when the first attempt failed', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!.id;
    // The terminal is busy: the first attempt is refused and changes nothing…
    const busy = (await api('POST', `/terminals/${t}/transactions`, purchase(1, 'busy'))).json().id;
    await ctx().app.inject({ method: 'GET', url: '/device/v1/transactions/next', headers: { authorization: `Bearer ${c.terminals[0]!.deviceToken}` } });
    const refused = await api('POST', `/terminals/${t}/transactions`, purchase(2, 'idem-5'), { 'Idempotency-Key': 'k5' });
    expect(refused.statusCode).toBe(409);
    // …so once the terminal is free, the retry with the same key goes through.
    await api('DELETE', `/terminals/${t}/transactions/${busy}`);
    const retried = await api('POST', `/terminals/${t}/transactions`, purchase(2, 'idem-5'), { 'Idempotency-Key': 'k5' });
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });

  it('works on every POST: capture and API keys', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const url = String((await pay(ctx().app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: 'pa', amount: { value: 10, currency: 'EUR' } })).created.headers.location);
    const cap = await api('POST', `${url}/capture`, { amount: { value: 5, currency: 'EUR' } }, { 'Idempotency-Key': 'cap-1' });
    const capAgain = await api('POST', `${url}/capture`, { amount: { value: 5, currency: 'EUR' } }, { 'Idempotency-Key': 'cap-1' });
    expect(cap.statusCode).toBe(200);
    expect(capAgain.statusCode).toBe(200);
    expect(capAgain.body).toBe(cap.body);
    const key = await api('POST', '/apikeys', { label: 'rotation' }, { 'Idempotency-Key': 'key-1' });
    expect(key.statusCode).toBe(201);
    // A new key is shown once: a retry learns which key was made, never the secret again.
    const keyAgain = await api('POST', '/apikeys', { label: 'rotation' }, { 'Idempotency-Key': 'key-1' });
    expect(keyAgain.statusCode).toBe(409);
    expect(keyAgain.json().detail).toContain(String(key.json().id));
    expect(keyAgain.body).not.toContain(key.json().apikey);
    expect(JSON.stringify(await ctx().db.store.db.selectFrom('idempotency_keys').selectAll().execute())).not.toContain(key.json().apikey);
    expect((await api('GET', '/apikeys')).json()).toHaveLength(2);
  });

  it('refuses an over-long key', async () => {
    const c = await onboard(ctx().app);
    const res = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1, 'idem-6'), { 'Idempotency-Key': 'x'.repeat(256) });
    expect(res.statusCode).toBe(400);
    expect(await countTx('idem-6')).toBe(0);
  });
});
