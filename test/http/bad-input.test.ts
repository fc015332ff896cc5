import { expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { isProblem } from '../support/http.js';
import { onboard, usePlatform, type OnboardedCustomer } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, pay, purchase } from '../support/terminal.js';

/**
 * Generated bad input: for every write route, CASES seeded invalid bodies, paths and queries
 * (odd text, NUL, huge and malformed numbers, wrong types, unknown members, missing members, deep
 * nesting, bad UTF-8, broken JSON). Every answer must be a 4xx problem, nothing may be stored, and
 * the server must still serve. A failure names the seed and the case: replay it with
 * BAD_INPUT_SEED=<seed>.
 */
const CASES = 1_000;
const SEED = Number(process.env.BAD_INPUT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, seeded, good enough to pick cases. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const nest = (v: unknown, depth: number): unknown => (depth === 0 ? v : [nest(v, depth - 1)]);
const ODD_TEXT = ['\u0000', 'a\u0000b', '\u0000'.repeat(5), 'x'.repeat(5_000), '\ud800', '%00', '\u202e', '👍'.repeat(300)];
/** Values no member of any body accepts in place of a string. */
const NOT_A_STRING = [0, -1, 1e308, 9223372036854775808, true, false, null, [], {}, ['x'], { x: 1 }];
/** Values no amount or number member accepts. */
const NOT_A_NUMBER = ['1', '0x10', '1e20', '', 1.0001, -5, 0, 1e21, 2 ** 53 + 2, null, true, [], {}, { value: 1 }, -0.001];
/** Path segments that are no resource: malformed ids and odd text, percent-encoded. */
const BAD_SEGMENTS = ['0x1', '1e0', '-1', '1.5', '9223372036854775808', '99999999999999999999999', '%00', 'a%00b', '%ff', '%c3%28', '..', '%2e%2e', 'x'.repeat(90), '%e2%80%ae', '%20', 'abc', '01'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (as keys) to a leaf or object inside a value, the root included. */
function pointers(v: unknown, at: string[] = []): string[][] {
  const out = [at];
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pointers(x, [...at, k]));
  return out;
}

function setAt(root: Json, path: string[], value: unknown): Json {
  if (path.length === 0) return value as Json;
  const copy = structuredClone(root) as Record<string, Json>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, Json>;
  o[path.at(-1)!] = value as Json;
  return copy;
}

function deleteAt(root: Json, path: string[]): Json {
  const copy = structuredClone(root) as Record<string, Json>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, Json>;
  delete o[path.at(-1)!];
  return copy;
}

function getAt(root: Json, path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root);
}

interface WriteRoute {
  name: string;
  method: 'POST' | 'DELETE';
  /** the path with its params filled with valid values, as segments to mutate by index */
  segments: string[];
  /** indexes of `segments` that are parameters */
  params: number[];
  body?: Json;
  /** members whose removal makes the body invalid */
  required?: string[][];
  headers: Record<string, string>;
}

/** One invalid request for a route, and a description to replay it. */
function badRequest(route: WriteRoute, r: Rng): { options: InjectOptions; what: string } {
  const segments = [...route.segments];
  let query = '';
  let payload: string | Buffer | undefined = route.body === undefined ? undefined : JSON.stringify(route.body);
  let contentType = 'application/json';
  const kinds = route.body === undefined ? ['path', 'query'] : ['path', 'query', 'leaf', 'unknown', 'missing', 'deep', 'utf8', 'syntax', 'root', 'type'];
  const kind = r.pick(kinds);
  let what: string = kind;
  const body = route.body ?? {};
  switch (kind) {
    case 'path': {
      // a route without parameters gets a segment more (no such route)
      const i = route.params.length > 0 ? r.pick(route.params) : segments.length;
      segments[i] = r.pick(BAD_SEGMENTS);
      what += ` ${segments[i]}`;
      break;
    }
    case 'query':
      query = `?${r.pick(['page', 'size', 'merchant_order_reference', 'x', 'wait'])}=${r.pick(['%00', 'a%00', '%00%00'])}`;
      what += ` ${query}`;
      break;
    case 'leaf': {
      const leaves = pointers(body).filter((p) => p.length > 0 && typeof getAt(body, p) !== 'object');
      if (leaves.length === 0) {
        payload = JSON.stringify({ ...(body as { [k: string]: Json }), amount: r.pick(NOT_A_NUMBER) });
        break;
      }
      const p = r.pick(leaves);
      const original = getAt(body, p);
      const value = typeof original === 'number' ? r.pick(NOT_A_NUMBER) : r.pick([...ODD_TEXT.filter((t) => t.includes('\u0000') || t.length > 1000), ...NOT_A_STRING]);
      payload = JSON.stringify(setAt(body, p, value));
      what += ` /${p.join('/')} = ${JSON.stringify(value)?.slice(0, 40)}`;
      break;
    }
    case 'unknown': {
      const objects = pointers(body).filter((p) => { const v = getAt(body, p); return v !== null && typeof v === 'object' && !Array.isArray(v); });
      const p = r.pick(objects);
      const name = r.pick(['extra', 'amount_minor', '__proto__', 'constructor', 'ID', 'a\u0000', '']);
      // written as text: `__proto__` and friends would not survive as object keys
      const target = getAt(body, p) as Record<string, unknown>;
      const members = [...Object.entries(target), [name, r.pick([1, 'x', null, {}])] as const].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
      payload = JSON.stringify(setAt(body, p, '@@here@@')).replace('"@@here@@"', `{${members.join(',')}}`);
      what += ` /${[...p, name].join('/')}`;
      break;
    }
    case 'missing': {
      if (!route.required?.length) {
        payload = '{"x":1}';
        break;
      }
      const p = r.pick(route.required);
      payload = JSON.stringify(deleteAt(body, p));
      what += ` /${p.join('/')}`;
      break;
    }
    case 'deep': {
      const p = r.pick(pointers(body));
      const depth = 33 + r.int(3_000);
      payload = JSON.stringify(setAt(body, p, nest(getAt(body, p) ?? 1, depth)));
      what += ` /${p.join('/')} x${depth}`;
      break;
    }
    case 'utf8': {
      const text = JSON.stringify(body);
      const at = text.indexOf('"', 2) + 1 || 1;
      const bad = r.pick([[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xc0, 0xaf]]);
      payload = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
      what += ` [${bad.map((b) => b.toString(16)).join(' ')}] at ${at}`;
      break;
    }
    case 'syntax': {
      const text = JSON.stringify(body);
      payload = r.pick([text.slice(0, r.int(text.length)), `${text}}`, text.includes('"') ? text.replace(/"/, "'") : "{'", `${text},`, 'NaN', '{"a":1e999999999999}', '\u0000', `{"x":"\\u00"}`]);
      what += ` ${JSON.stringify(payload).slice(0, 60)}`;
      break;
    }
    case 'root':
      payload = r.pick(['null', '[]', '"text"', '1', 'true', '[{}]', '""']);
      what += ` ${payload}`;
      break;
    case 'type':
      contentType = r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']);
      what += ` ${contentType}`;
      break;
  }
  const url = `/${segments.join('/')}${query}`;
  const headers: Record<string, string> = { ...route.headers };
  if (payload !== undefined) headers['content-type'] = contentType;
  return { options: { method: route.method, url, headers, ...(payload !== undefined && { payload }) } as InjectOptions, what: `${route.method} ${url} ${what}` };
}

describeEachStore('generated bad input on every write route', (dialect) => {
  const ctx = usePlatform(dialect);

  /** Rows of every table the routes could write to. */
  const snapshot = async (app: FastifyInstance) => {
    const db = app.platform.store.db;
    // Usage bookkeeping (last seen, last used) is not input being stored: leave it out.
    const rows = await Promise.all([
      db.selectFrom('api_keys').select(['id', 'label', 'revoked_at', 'valid_from', 'valid_until']).orderBy('id').execute(),
      db.selectFrom('transactions').selectAll().orderBy('id').execute(),
      db.selectFrom('terminals').select(['id', 'device_token_hash']).orderBy('id').execute(),
      db.selectFrom('idempotency_keys').selectAll().execute(),
    ]);
    return JSON.stringify(rows);
  };

  const routesOf = async (app: FastifyInstance, c: OnboardedCustomer): Promise<WriteRoute[]> => {
    const t = c.terminals[0]!;
    const merchant = { 'api-key': c.apiKey };
    const device = { authorization: `Bearer ${t.deviceToken}` };
    const { created: pre } = await pay(app, c, { ...purchase(20, 'pre'), type: 'PRE_AUTHORIZATION' });
    const preId = pre.json().id as string;
    const api = (await import('../support/http.js')).merchantApi(app, c.apiKey);
    const open = (await api('POST', `/terminals/${c.terminals[1]!.id}/transactions`, purchase(5, 'open'))).json().id as string;
    expect((await deviceApi(app, c.terminals[1]!.deviceToken).next()).statusCode).toBe(200);
    const amount = { value: 10, currency: 'EUR' };
    return [
      { name: 'create key', method: 'POST', segments: ['apikeys'], params: [], body: { label: 'fuzz', validity: { from: '2030-01-01T00:00:00Z', until: '2031-01-01T00:00:00Z' } }, required: [['label']], headers: merchant },
      { name: 'revoke key', method: 'DELETE', segments: ['apikeys', String(c.keyId)], params: [1], headers: merchant },
      { name: 'create transaction', method: 'POST', segments: ['terminals', t.id, 'transactions'], params: [1], body: { type: 'REFUND', merchant_order_reference: 'fuzz', amount, reference: { id: preId } }, required: [['type'], ['merchant_order_reference'], ['amount'], ['amount', 'value'], ['amount', 'currency'], ['reference', 'id']], headers: { ...merchant, 'idempotency-key': 'fuzz' } },
      { name: 'cancel transaction', method: 'DELETE', segments: ['terminals', c.terminals[1]!.id, 'transactions', open], params: [1, 3], headers: merchant },
      { name: 'capture', method: 'POST', segments: ['terminals', t.id, 'transactions', preId, 'capture'], params: [1, 3], body: { amount }, required: [['amount', 'value'], ['amount', 'currency']], headers: merchant },
      { name: 'release', method: 'POST', segments: ['terminals', t.id, 'transactions', preId, 'release'], params: [1, 3], body: {}, headers: merchant },
      { name: 'card', method: 'POST', segments: ['device', 'v1', 'transactions', open, 'card'], params: [3], body: { entry_mode: 'CHIP', card: { number: '4111111111111111', expiry: '12/39' } }, required: [['entry_mode'], ['card'], ['card', 'number'], ['card', 'expiry']], headers: { authorization: `Bearer ${c.terminals[1]!.deviceToken}` } },
      { name: 'device cancel', method: 'POST', segments: ['device', 'v1', 'transactions', open, 'cancel'], params: [3], body: {}, headers: { authorization: `Bearer ${c.terminals[1]!.deviceToken}` } },
      { name: 'simulator session', method: 'POST', segments: ['simulator', 'api', 'sessions'], params: [], body: { terminal: 'NOPE-NOPE-NOPE' }, required: [['terminal']], headers: merchant },
    ].map((r) => ({ ...r, headers: r.headers ?? device })) as WriteRoute[];
  };

  it(`answers ${CASES} invalid requests per write route with 4xx problems, stores nothing, keeps serving (seed ${SEED})`, async () => {
    const app = ctx().app;
    const c = await onboard(app, { terminalsPerStore: 2 });
    const routes = await routesOf(app, c);
    const before = await snapshot(app);
    for (const [n, route] of routes.entries()) {
      const r = rng(SEED + n);
      for (let i = 0; i < CASES; i++) {
        const { options, what } = badRequest(route, r);
        const res = await app.inject(options);
        const replay = `BAD_INPUT_SEED=${SEED} route "${route.name}" case ${i}: ${what} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
        if (res.statusCode < 400 || res.statusCode >= 500 || !isProblem(res)) expect.fail(replay);
        const body = res.json();
        if (body.status !== res.statusCode || typeof body.detail !== 'string') expect.fail(replay);
      }
      expect(await snapshot(app), `BAD_INPUT_SEED=${SEED} route "${route.name}" stored something`).toBe(before);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    }
    // still serving: the valid requests behind the cases go through
    const api = (await import('../support/http.js')).merchantApi(app, c.apiKey);
    expect((await api('POST', '/apikeys', { label: 'after the storm' })).statusCode).toBe(201);
  }, 120_000);
});
