import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { isProblem, merchantApi, type Response } from '../support/http.js';
import { linksByRel } from '../support/link.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';

interface StoreEntry {
  uuid: string;
  name: string;
  merchant: { id: number; name: string };
}

/** A customer with one merchant and `count` stores, created through the onboarding service (fast). */
async function customerWithStores(app: FastifyInstance, count: number) {
  const { onboarding, apiKeys } = app.platform;
  const customer = await onboarding.createCustomer('Many Stores Inc.');
  if (!customer.ok) throw new Error(customer.detail);
  const merchant = await onboarding.createMerchant(customer.value.id, 'Many Stores Retail');
  if (!merchant.ok) throw new Error(merchant.detail);
  const uuids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const s = await onboarding.createStore({ merchantId: merchant.value.id, name: `Store ${i}` });
    if (!s.ok) throw new Error(s.detail);
    uuids.push(s.value.uuid);
  }
  const key = await apiKeys.issue(customer.value.id, 'paging');
  if (!key.ok) throw new Error(key.detail);
  return { apiKey: key.value.apikey, uuids };
}

const pageParams = (u: URL) => ({ page: u.searchParams.get('page'), size: u.searchParams.get('size') });

function expectBadQuery(res: Response, parameter: string) {
  expect(res.statusCode).toBe(400);
  expect(isProblem(res)).toBe(true);
  const body = res.json();
  expect(body).toMatchObject({ status: 400, type: expect.any(String), title: expect.any(String), detail: expect.any(String), instance: '/stores' });
  expect(body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: `/${parameter}`, in: 'query' })]));
}

describeEachStore('GET /stores and GET /terminals', (dialect) => {
  const ctx = usePlatform(dialect);

  it('lists the stores and terminals of all the customer’s merchants and nothing of another customer', async () => {
    const a = await onboard(ctx().app, { merchants: 2, storesPerMerchant: 2, terminalsPerStore: 1 });
    const b = await onboard(ctx().app, { merchants: 1, storesPerMerchant: 1, terminalsPerStore: 2 });
    const api = merchantApi(ctx().app, a.apiKey);

    const stores = await api('GET', '/stores');
    expect(stores.statusCode).toBe(200);
    expect(stores.headers['content-type']).toMatch(/^application\/json/);
    expect(stores.headers['x-total-count']).toBe('4');
    const storeList: StoreEntry[] = stores.json();
    expect(storeList.map((s) => s.uuid).sort()).toEqual([...a.stores].sort());
    expect(new Set(storeList.map((s) => s.merchant.id))).toEqual(new Set(a.merchants));
    for (const s of storeList) {
      expect(s).toEqual({
        uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        name: expect.stringMatching(/^Store /),
        address: 'Damrak 1\n1012 LG Amsterdam',
        timezone: 'Europe/Amsterdam',
        currency: 'EUR',
        receipt_width: 24,
        merchant: { id: expect.any(Number), name: expect.stringMatching(/^Merchant /) },
      });
    }

    const terminals = await api('GET', '/terminals');
    expect(terminals.statusCode).toBe(200);
    expect(terminals.headers['x-total-count']).toBe('4');
    const terminalList = terminals.json();
    expect(terminalList.map((t: { id: string }) => t.id).sort()).toEqual(a.terminals.map((t) => t.id).sort());
    for (const t of b.terminals) expect(terminals.body).not.toContain(t.id);
    for (const s of b.stores) {
      expect(stores.body).not.toContain(s);
      expect(terminals.body).not.toContain(s);
    }
    // …and B sees only its own.
    const bTerminals = (await merchantApi(ctx().app, b.apiKey)('GET', '/terminals')).json();
    expect(bTerminals.map((t: { id: string }) => t.id).sort()).toEqual(b.terminals.map((t) => t.id).sort());
  });

  it('shows each terminal with its id, parts, store, merchant, and no presence before any device contact', async () => {
    const c = await onboard(ctx().app, { merchants: 2, storesPerMerchant: 1, terminalsPerStore: 1 });
    const list = (await merchantApi(ctx().app, c.apiKey)('GET', '/terminals')).json();
    const storeNames = new Map(
      (await merchantApi(ctx().app, c.apiKey)('GET', '/stores')).json().map((s: StoreEntry) => [s.uuid, s]),
    );
    expect(list).toHaveLength(2);
    for (const t of list) {
      const serial = t.id.split('-').at(-1);
      expect(t).toEqual({
        id: expect.stringMatching(/^SUNMI-P2lite-PL\w+$/),
        manufacturer: 'SUNMI',
        model: 'P2lite',
        serial,
        store: { uuid: expect.any(String), name: expect.any(String) },
        merchant: { id: expect.any(Number), name: expect.any(String) },
        cloud_integration: expect.any(Boolean),
        last_seen: null,
        online: false,
      });
      expect(t.id).toBe(`SUNMI-P2lite-${serial}`);
      const store = storeNames.get(t.store.uuid) as StoreEntry | undefined;
      expect(store).toBeDefined();
      expect(t.store.name).toBe(store!.name);
      expect(t.merchant).toEqual(store!.merchant);
    }
    expect(new Set(list.map((t: { merchant: { id: number } }) => t.merchant.id))).toEqual(new Set(c.merchants));
  });

  describe('pagination', () => {
    let many: { apiKey: string; uuids: string[] } | undefined;
    const customer = async () => (many ??= await customerWithStores(ctx().app, 67));
    const get = async (url: string, headers: Record<string, string> = {}) => merchantApi(ctx().app, (await customer()).apiKey)('GET', url, undefined, headers);

    it('answers the guide’s example: 67 stores, page 3 of size 10', async () => {
      const res = await get('/stores?page=3&size=10', { host: 'pos.example.com' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toHaveLength(10);
      expect(res.headers['x-total-count']).toBe('67');
      const links = linksByRel(String(res.headers.link));
      expect(Object.keys(links).sort()).toEqual(['first', 'last', 'next', 'prev']);
      for (const u of Object.values(links)) {
        expect(u.origin).toBe('http://pos.example.com');
        expect(u.pathname).toBe('/stores');
        expect(u.searchParams.getAll('size')).toEqual(['10']);
        expect(u.searchParams.getAll('page')).toHaveLength(1);
      }
      expect(pageParams(links.first!)).toEqual({ page: '1', size: '10' });
      expect(pageParams(links.prev!)).toEqual({ page: '2', size: '10' });
      expect(pageParams(links.next!)).toEqual({ page: '4', size: '10' });
      expect(pageParams(links.last!)).toEqual({ page: '7', size: '10' });
    });

    it('has no prev on the first page and no next on the last, which holds the rest', async () => {
      const first = await get('/stores?size=10');
      expect(first.json()).toHaveLength(10);
      const firstLinks = linksByRel(String(first.headers.link));
      expect(Object.keys(firstLinks).sort()).toEqual(['first', 'last', 'next']);
      expect(pageParams(firstLinks.next!)).toEqual({ page: '2', size: '10' });

      const last = await get('/stores?page=7&size=10');
      expect(last.json()).toHaveLength(7);
      expect(last.headers['x-total-count']).toBe('67');
      const lastLinks = linksByRel(String(last.headers.link));
      expect(Object.keys(lastLinks).sort()).toEqual(['first', 'last', 'prev']);
      expect(pageParams(lastLinks.prev!)).toEqual({ page: '6', size: '10' });
      expect(pageParams(lastLinks.last!)).toEqual({ page: '7', size: '10' });
    });

    it('answers an empty page past the end, with the headers still right', async () => {
      const res = await get('/stores?page=9&size=10');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([]);
      expect(res.headers['x-total-count']).toBe('67');
      const links = linksByRel(String(res.headers.link));
      expect(pageParams(links.first!)).toEqual({ page: '1', size: '10' });
      expect(pageParams(links.last!)).toEqual({ page: '7', size: '10' });
      expect(links.next).toBeUndefined();
      // prev, when given, must lead back into the list
      if (links.prev) expect(Number(links.prev.searchParams.get('page'))).toBeLessThanOrEqual(7);
    });

    it('keeps the other query parameters in the links', async () => {
      const res = await get('/stores?page=2&size=20&foo=bar&q=a%20b');
      expect(res.statusCode).toBe(200);
      const links = linksByRel(String(res.headers.link));
      expect(Object.keys(links).sort()).toEqual(['first', 'last', 'next', 'prev']);
      for (const u of Object.values(links)) {
        expect(u.searchParams.get('foo')).toBe('bar');
        expect(u.searchParams.get('q')).toBe('a b');
        expect(u.searchParams.get('size')).toBe('20');
      }
      expect(pageParams(links.last!)).toEqual({ page: '4', size: '20' });
    });

    it('defaults to page 1 of size 10 and accepts size 100', async () => {
      const plain = await get('/stores');
      expect(plain.json()).toHaveLength(10);
      expect(plain.json().map((s: StoreEntry) => s.uuid)).toEqual((await get('/stores?page=1&size=10')).json().map((s: StoreEntry) => s.uuid));
      expect(pageParams(linksByRel(String(plain.headers.link)).last!)).toEqual({ page: '7', size: '10' });

      const all = await get('/stores?size=100');
      expect(all.statusCode).toBe(200);
      expect(all.json()).toHaveLength(67);
      expect(all.headers['x-total-count']).toBe('67');
      // everything fits on one page: the header is there, and empty
      expect(all.headers.link).toBe('');
    });

    it('walks every page in a stable order: no duplicates, no gaps', async () => {
      const { uuids } = await customer();
      const seen: string[] = [];
      for (let page = 1; page <= 10; page++) {
        const res = await get(`/stores?page=${page}&size=7`);
        expect(res.statusCode).toBe(200);
        seen.push(...res.json().map((s: StoreEntry) => s.uuid));
      }
      expect(seen).toHaveLength(67);
      expect(new Set(seen).size).toBe(67);
      expect([...seen].sort()).toEqual([...uuids].sort());
      // Asking again gives the same order.
      const again = (await get('/stores?size=100')).json().map((s: StoreEntry) => s.uuid);
      expect(again).toEqual(seen);
    });

    it.each([
      ['size=101', 'size'],
      ['size=0', 'size'],
      ['size=-1', 'size'],
      ['size=1.5', 'size'],
      ['size=abc', 'size'],
      ['page=0', 'page'],
      ['page=-2', 'page'],
      ['page=abc', 'page'],
      ['page=1.5', 'page'],
    ])('refuses %s with 400 naming the parameter', async (query, parameter) => {
      expectBadQuery(await get(`/stores?${query}`), parameter);
    });

    it('paginates /terminals the same way', async () => {
      const c = await onboard(ctx().app, { merchants: 1, storesPerMerchant: 3, terminalsPerStore: 4 });
      const api = merchantApi(ctx().app, c.apiKey);
      const seen: string[] = [];
      for (let page = 1; page <= 3; page++) {
        const res = await api('GET', `/terminals?page=${page}&size=5`);
        expect(res.headers['x-total-count']).toBe('12');
        const links = linksByRel(String(res.headers.link));
        expect(pageParams(links.last!)).toEqual({ page: '3', size: '5' });
        expect(links.first!.pathname).toBe('/terminals');
        seen.push(...res.json().map((t: { id: string }) => t.id));
      }
      expect([...seen].sort()).toEqual(c.terminals.map((t) => t.id).sort());
      const bad = await api('GET', '/terminals?size=101');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors[0]).toMatchObject({ pointer: '/size', in: 'query' });
    });

    it('builds links from the Host header and ignores X-Forwarded-* when no proxy is trusted', async () => {
      const res = await get('/stores?page=2', { host: 'api.shop.test:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
      const links = linksByRel(String(res.headers.link));
      for (const u of Object.values(links)) expect(u.origin).toBe('http://api.shop.test:8080');
    });
  });
});

describeEachStore('pagination links behind a trusted proxy', (dialect) => {
  const ctx = usePlatform(dialect, { env: { TRUST_PROXY: 'true' } });

  it('honours X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const { apiKey } = await customerWithStores(ctx().app, 12);
    const api = merchantApi(ctx().app, apiKey);
    const res = await api('GET', '/stores?page=1&size=5', undefined, {
      host: 'internal:8080',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'pos.example.com',
    });
    expect(res.statusCode).toBe(200);
    const links = linksByRel(String(res.headers.link));
    expect(Object.keys(links).sort()).toEqual(['first', 'last', 'next']);
    for (const u of Object.values(links)) expect(u.origin).toBe('https://pos.example.com');
    // without forwarding headers the Host header still counts
    const direct = await api('GET', '/stores?page=1&size=5', undefined, { host: 'internal:8080' });
    for (const u of Object.values(linksByRel(String(direct.headers.link)))) expect(u.origin).toBe('http://internal:8080');
  });
});
