import { afterAll, expect, it } from 'vitest';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform, type OnboardedCustomer } from '../support/platform.js';
import { startReceiver, verify, type Receiver } from '../support/receiver.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, pay, purchase } from '../support/terminal.js';

/** The attempts listed for an endpoint, after a short pause (a look again loop, not a clock). */
async function listed(api: ReturnType<typeof merchantApi>, endpointId: string) {
  await new Promise((r) => setTimeout(r, 20));
  const res = await api('GET', `/webhook-endpoints/${endpointId}/deliveries`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describeEachStore('webhooks', (dialect) => {
  const ctx = usePlatform(dialect, { env: { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms', WEBHOOK_MAX_IN_FLIGHT: '2', WEBHOOK_MAX_ENDPOINTS: '3' } });
  const receivers: Receiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };
  const endpoint = async (c: OnboardedCustomer, url: string, events?: string[]) => {
    const res = await merchantApi(ctx().app, c.apiKey)('POST', '/webhook-endpoints', { url, ...(events && { events }) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; secret: string; url: string; events: string[] | null };
  };

  it('delivers a payment as created → retrieved → card_presented → cleared, signed, with growing sequence', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver();
    const { secret } = await endpoint(c, r.url);
    const { created } = await pay(ctx().app, c, purchase(12.5));
    const id = created.json().id as string;
    const got = await r.until((all) => all.filter((x) => x.event.data.id === id).length >= 4);
    const mine = got.filter((x) => x.event.data.id === id).sort((a, b) => a.event.sequence - b.event.sequence);
    expect(mine.map((x) => [x.event.type, x.event.sequence])).toEqual([
      ['transaction.created', 1],
      ['transaction.retrieved', 2],
      ['transaction.card_presented', 3],
      ['transaction.cleared', 4],
    ]);
    for (const x of mine) {
      expect(verify(secret, x)).toMatchObject({ id: x.id, type: x.event.type });
      expect(x.id).toBe(x.event.id);
    }
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, mine[0]!)).toThrow();
    expect(mine[3]!.event.data).toMatchObject({ id, status: 'CLEARED', result: 'APPROVED', terminal_id: c.terminals[0]!.id, store: { uuid: c.stores[0] } });

    // The event log says the same, newest first, filtered and paginated like every list.
    const api = merchantApi(ctx().app, c.apiKey);
    const all = await api('GET', '/events?size=100');
    expect(all.statusCode).toBe(200);
    expect(all.json().filter((e: { data: { id?: string } }) => e.data.id === id).map((e: { type: string }) => e.type)).toEqual([
      'transaction.cleared',
      'transaction.card_presented',
      'transaction.retrieved',
      'transaction.created',
    ]);
    const cleared = await api('GET', '/events?type=transaction.cleared&size=1');
    expect(cleared.json()).toHaveLength(1);
    expect(cleared.json()[0]).toEqual(mine[3]!.event);
    expect(cleared.headers['x-total-count']).toBe('1');
    const page = await api('GET', '/events?size=2&page=2');
    expect(page.json()).toHaveLength(2);
    expect(page.headers.link).toMatch(/rel="prev"/);
    expect((await api('GET', `/events/${mine[0]!.id}`)).json()).toEqual(mine[0]!.event);
    for (const bad of ['/events?type=transaction.paid', '/events?size=0']) {
      const res = await api('GET', bad);
      expect(res.statusCode, bad).toBe(400);
      expect(isProblem(res)).toBe(true);
    }
    // Another customer sees none of it.
    const other = await onboard(ctx().app);
    const theirs = merchantApi(ctx().app, other.apiKey);
    expect((await theirs('GET', `/events/${mine[0]!.id}`)).statusCode).toBe(404);
    expect((await theirs('GET', '/events')).json()).toEqual([]);
  });

  it('writes an event for every committed change and none for a refused one', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const first = (await api('POST', `/terminals/${t.id}/transactions`, purchase(1, 'a'))).json().id as string;
    await deviceApi(ctx().app, t.deviceToken).next();
    // The terminal is busy: the creation is refused and rolled back, and says nothing.
    expect((await api('POST', `/terminals/${t.id}/transactions`, purchase(2, 'b'))).statusCode).toBe(409);
    expect((await api('DELETE', `/terminals/${t.id}/transactions/${first}`)).statusCode).toBe(204);
    const log = (await api('GET', '/events?size=100')).json() as Array<{ type: string; sequence: number; data: { id: string; merchant_order_reference: string } }>;
    expect(log.map((e) => [e.type, e.sequence, e.data.id])).toEqual([
      ['transaction.cancelled', 3, first],
      ['transaction.retrieved', 2, first],
      ['transaction.created', 1, first],
    ]);
    expect(log.some((e) => e.data.merchant_order_reference === 'b')).toBe(false);
  });

  it('retries a 500 with the same webhook-id and lists both attempts', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver((_, n) => (n === 1 ? 500 : 200));
    const { id: endpointId, secret } = await endpoint(c, r.url, ['transaction.created']);
    await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(3));
    const [first, second] = await r.until((all) => all.length >= 2);
    expect(second!.id).toBe(first!.id);
    verify(secret, first!);
    verify(secret, second!);
    const api = merchantApi(ctx().app, c.apiKey);
    let attempts: Array<Record<string, unknown>> = [];
    // The second attempt is recorded just after the receiver answered it.
    while (attempts.length < 2) attempts = await listed(api, endpointId);
    expect(attempts).toEqual([
      expect.objectContaining({ event_id: first!.id, type: 'transaction.created', attempt: 2, status_code: 200, outcome: 'DELIVERED' }),
      expect.objectContaining({ event_id: first!.id, type: 'transaction.created', attempt: 1, status_code: 500, outcome: 'RETRYING' }),
    ]);
    expect(attempts[0]!.duration_ms).toEqual(expect.any(Number));
  });

  it('marks a delivery FAILED after the last retry of the schedule', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver(() => 503);
    const { id: endpointId } = await endpoint(c, r.url, ['transaction.created']);
    await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(3));
    await r.until((all) => all.length >= 3);
    const api = merchantApi(ctx().app, c.apiKey);
    let attempts: Array<{ outcome: string; attempt: number }> = [];
    while (attempts.length < 3) attempts = await listed(api, endpointId);
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([[3, 'FAILED'], [2, 'RETRYING'], [1, 'RETRYING']]);
    expect(new Set(r.received.map((x) => x.id)).size).toBe(1);
  });

  it('signs with both secrets during a rotation; either verifies', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver();
    const { id, secret: old } = await endpoint(c, r.url, ['transaction.created']);
    const api = merchantApi(ctx().app, c.apiKey);
    const rotated = await api('POST', `/webhook-endpoints/${id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().secret as string;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fresh).not.toBe(old);
    await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(4));
    const [x] = await r.until((all) => all.length >= 1);
    expect(x!.signature.split(' ')).toHaveLength(2);
    expect(verify(old, x!)).toBeTruthy();
    expect(verify(fresh, x!)).toBeTruthy();
    expect((await api('POST', `/webhook-endpoints/we_nothere/rotate-secret`)).statusCode).toBe(404);
  });

  it('redelivers an event with the same webhook-id', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver();
    const { secret } = await endpoint(c, r.url, ['transaction.created']);
    const api = merchantApi(ctx().app, c.apiKey);
    await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(5));
    const [first] = await r.until((all) => all.length >= 1);
    const res = await api('POST', `/events/${first!.id}/redeliver`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: first!.id, endpoints: 1 });
    const [, again] = await r.until((all) => all.length >= 2);
    expect(again!.id).toBe(first!.id);
    expect(again!.body).toBe(first!.body);
    verify(secret, again!);
    expect((await merchantApi(ctx().app, (await onboard(ctx().app)).apiKey)('POST', `/events/${first!.id}/redeliver`)).statusCode).toBe(404);
  });

  it('delivers what was committed late, due before every pending delivery (below where claims start on PostgreSQL)', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver();
    const { id: endpointId } = await endpoint(c, r.url, ['transaction.created']);
    await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(7));
    const [first] = await r.until((all) => all.length >= 1);
    // The sweep (once a second) has set where claims start since: above what is written next.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const now = Date.now();
    await ctx()
      .db.store.db.insertInto('webhook_deliveries')
      .values({ event_id: first!.id, endpoint_id: endpointId, status: 'PENDING', attempts: 0, next_attempt_at: now - 60_000, lease_until: null, created_at: now })
      .execute();
    const [, late] = await r.until((all) => all.length >= 2);
    expect(late!.id).toBe(first!.id);
  });

  it('sends again, with the same webhook-id, what the send thread was sending when it died', async () => {
    const c = await onboard(ctx().app);
    const r = await receiver((_, n) => (n === 1 ? 'hang' : 200));
    const { id: endpointId, secret } = await endpoint(c, r.url, ['transaction.created']);
    await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(6));
    await r.until(() => r.held() === 1);
    const thread = ctx().app.platform.worker.sendThread;
    expect(thread).toBeDefined();
    await thread!.terminate();
    const [first, second] = await r.until((all) => all.length >= 2);
    expect(second!.id).toBe(first!.id);
    verify(secret, second!);
    expect(ctx().app.platform.worker.sendThread).not.toBe(thread);
    const api = merchantApi(ctx().app, c.apiKey);
    let attempts: Array<Record<string, unknown>> = [];
    while (attempts.length < 2) attempts = await listed(api, endpointId);
    expect(attempts).toEqual([
      expect.objectContaining({ event_id: first!.id, attempt: 2, status_code: 200, outcome: 'DELIVERED' }),
      expect.objectContaining({ event_id: first!.id, attempt: 1, error: 'request failed', outcome: 'RETRYING' }),
    ]);
  });

  it('answers the API while a receiver never answers, with at most WEBHOOK_MAX_IN_FLIGHT deliveries held', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 3 });
    const r = await receiver(() => 'hang');
    // Two endpoints on it: one endpoint that keeps a request waiting 250 ms is slow and holds half
    // the slots at most (receiver-health.ts), which a busy machine could reach before both fill.
    await endpoint(c, r.url);
    await endpoint(c, r.url);
    await pay(ctx().app, c, purchase(1), undefined, 0);
    await r.until(() => r.held() === 2);
    // Both delivery slots are taken by a receiver that does not answer: payments go on regardless.
    for (const terminal of [1, 2]) {
      const { finished } = await pay(ctx().app, c, purchase(2), undefined, terminal);
      expect(finished.json().status).toBe('CLEARED');
      expect(r.held()).toBe(2);
    }
    const log = (await merchantApi(ctx().app, c.apiKey)('GET', '/events?size=100')).json() as Array<{ type: string }>;
    expect(log.filter((e) => e.type.startsWith('transaction.'))).toHaveLength(12);
    expect(r.maxHeld()).toBe(2);
    expect(ctx().app.platform.worker.sending).toBe(2);
  });

  it('manages endpoints: secret shown once, 400 for bad URLs and types, 404 for another customer', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const created = await api('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/x', events: ['transaction.cleared', 'terminal.offline'], description: 'ERP' });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toEqual({ id: expect.stringMatching(/^we_/), url: 'http://127.0.0.1:9/x', events: ['transaction.cleared', 'terminal.offline'], description: 'ERP', secret: expect.stringMatching(/^whsec_/), created_at: expect.any(String) });
    const got = await api('GET', `/webhook-endpoints/${body.id}`);
    expect(got.json()).toEqual({ ...body, secret: undefined });
    expect(got.body).not.toContain('whsec_');
    const list = await api('GET', '/webhook-endpoints');
    expect(list.json()).toEqual([{ ...body, secret: undefined }]);
    expect(list.headers['x-total-count']).toBe('1');
    expect(list.body).not.toContain('whsec_');
    for (const bad of [{ url: 'ftp://example.com/x' }, { url: 'not a url' }, { url: 'https://example.com/x', events: ['transaction.paid'] }, { url: 'https://u:p@example.com/' }, { events: [] }]) {
      const res = await api('POST', '/webhook-endpoints', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(isProblem(res)).toBe(true);
    }
    const other = merchantApi(ctx().app, (await onboard(ctx().app)).apiKey);
    for (const [method, url] of [['GET', `/webhook-endpoints/${body.id}`], ['DELETE', `/webhook-endpoints/${body.id}`], ['GET', `/webhook-endpoints/${body.id}/deliveries`], ['POST', `/webhook-endpoints/${body.id}/rotate-secret`]] as const) {
      const res = await other(method, url);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(isProblem(res)).toBe(true);
    }
    // Kept and shown as it will be called.
    const normalized = await api('POST', '/webhook-endpoints', { url: 'HTTP://LocalHost:9/a/../b?x=1' });
    expect(normalized.json().url).toBe('http://localhost:9/b?x=1');
    expect((await api('DELETE', `/webhook-endpoints/${normalized.json().id}`)).statusCode).toBe(204);
    expect((await api('DELETE', `/webhook-endpoints/${body.id}`)).statusCode).toBe(204);
    expect((await api('GET', `/webhook-endpoints/${body.id}`)).statusCode).toBe(404);
    expect((await api('DELETE', `/webhook-endpoints/${body.id}`)).statusCode).toBe(404);
  });

  it('keeps a customer to WEBHOOK_MAX_ENDPOINTS endpoints, also when creations come at once', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const create = (n: number) => api('POST', '/webhook-endpoints', { url: `http://127.0.0.1:9/${n}` });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await create(n);
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
    }
    const refused = await create(4);
    expect(refused.statusCode).toBe(409);
    expect(isProblem(refused)).toBe(true);
    expect(refused.json().detail).toMatch(/at most 3 webhook endpoints/);
    // Another customer's endpoints are its own.
    expect((await merchantApi(ctx().app, (await onboard(ctx().app)).apiKey)('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/x' })).statusCode).toBe(201);
    // One place free, five creations at once: one takes it.
    expect((await api('DELETE', `/webhook-endpoints/${ids[0]}`)).statusCode).toBe(204);
    const statuses = (await Promise.all([5, 6, 7, 8, 9].map(create))).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    expect((await api('GET', '/webhook-endpoints')).headers['x-total-count']).toBe('3');
  });

  it('keeps signing secrets encrypted at rest', async () => {
    const c = await onboard(ctx().app);
    const { secret } = await endpoint(c, 'http://127.0.0.1:9/y');
    const rows = await ctx().db.store.db.selectFrom('webhook_endpoints').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice('whsec_'.length));
  });
});
