/**
 * The shared security suite: every MerchantAPI operation, as the app's own OpenAPI document lists
 * it, is called without a key, with unknown, revoked, expired and not-yet-valid keys, and with one
 * customer's key on another customer's resources. A new route is covered as soon as it is documented;
 * a path parameter the resolver does not know, or a request body without a sample, fails the suite.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { API_KEY_PREFIX, hashSecret, newSecret } from '../src/secrets.js';
import { isProblem, merchantApi, type Method, type Response } from './support/http.js';
import { onboard, usePlatform, type OnboardedCustomer } from './support/platform.js';
import { createTestDatabase, describeEachStore } from './support/stores.js';

interface OpenApiOperation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
}
interface OpenApiDocument {
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, OpenApiOperation>>;
}

interface Operation {
  method: Method;
  /** OpenAPI path template, e.g. `/terminals/{terminalId}/transactions` */
  path: string;
  pathParams: string[];
  hasBody: boolean;
  key: string;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** The operations whose effective security includes the `ApiKey` scheme. */
function merchantOperations(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const security = op.security ?? doc.security ?? [];
      if (!security.some((requirement) => 'ApiKey' in requirement)) continue;
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const upper = method.toUpperCase() as Method;
      ops.push({ method: upper, path, pathParams: [...new Set([...inTemplate, ...declared])], hasBody: op.requestBody !== undefined, key: `${upper} ${path}` });
    }
  }
  return ops;
}

/** The document is read once at collection time from an app on a scratch database, so that each
 * operation gets a test of its own. */
async function loadDocument(): Promise<OpenApiDocument> {
  const db = await createTestDatabase('sqlite');
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }), store: db.store });
  try {
    await app.ready();
    return app.swagger() as unknown as OpenApiDocument;
  } finally {
    await app.close();
    await db.drop();
  }
}

const DOCUMENT = await loadDocument();
const OPERATIONS = merchantOperations(DOCUMENT);

const TRANSACTION_BODY = { type: 'PURCHASE', merchant_order_reference: 'sec-1', amount: { value: 1.0, currency: 'EUR' } };

/** A valid body for every operation that takes one, so that a refusal comes from the key or from
 * ownership, never from validation. */
const SAMPLE_BODIES: Record<string, unknown> = {
  'POST /apikeys': { label: 'security suite' },
  'POST /terminals/{terminalId}/transactions': TRANSACTION_BODY,
  'POST /terminals/{terminalId}/transactions/{transactionId}/capture': {},
  'POST /terminals/{terminalId}/transactions/{transactionId}/release': {},
  'POST /webhook-endpoints': { url: 'http://127.0.0.1:9/security-suite', events: ['terminal.offline'] },
  'POST /webhook-endpoints/{endpointId}/rotate-secret': {},
  'POST /events/{eventId}/redeliver': {},
};

/** One customer's resources, created on demand. */
interface Owner {
  customer: OnboardedCustomer;
  values: Map<string, string>;
}

type Resolver = (app: FastifyInstance, owner: Owner, resolve: (name: string) => Promise<string>) => Promise<string>;

/** How to fill each path parameter with a resource of the given customer, and a value that names
 * nothing at all. */
const RESOLVERS: Record<string, { existing: Resolver; missing: string }> = {
  // an API key of the customer that is not the one making the requests (so revoking it may succeed)
  id: {
    existing: async (app, owner) => {
      const r = await app.platform.apiKeys.issue(owner.customer.customerId, 'security suite target');
      if (!r.ok) throw new Error(r.detail);
      return String(r.value.id);
    },
    missing: '987654321',
  },
  terminalId: { existing: async (_app, owner) => owner.customer.terminals[0]!.id, missing: 'SUNMI-P2lite-NOSUCH0000001' },
  transactionId: {
    existing: async (app, owner, resolve) => {
      const terminal = await resolve('terminalId');
      const res = await merchantApi(app, owner.customer.apiKey)('POST', `/terminals/${terminal}/transactions`, TRANSACTION_BODY);
      if (res.statusCode !== 201) throw new Error(`creating a transaction answered ${res.statusCode}: ${res.body}`);
      return String(res.json().id);
    },
    missing: '1234567890123456789012345678901',
  },
  endpointId: {
    existing: async (app, owner) => {
      const r = await app.platform.webhooks.create(owner.customer.customerId, { url: 'http://127.0.0.1:9/security-suite', events: ['terminal.offline'] });
      if (!r.ok) throw new Error(r.detail);
      return r.value.id;
    },
    missing: 'we_000000000000000000000000',
  },
  eventId: {
    existing: async (app, owner, resolve) => {
      const terminal = await resolve('terminalId');
      await merchantApi(app, owner.customer.apiKey)('POST', `/terminals/${terminal}/transactions`, TRANSACTION_BODY);
      const listed = await app.platform.webhooks.listEvents(owner.customer.customerId, 'transaction.created', 0, 1);
      return listed.events[0]!.id;
    },
    missing: 'evt_00000000000000000000000000000000',
  },
};

function resolverFor(app: FastifyInstance, owner: Owner) {
  const resolve = async (name: string): Promise<string> => {
    const known = owner.values.get(name);
    if (known !== undefined) return known;
    const resolver = RESOLVERS[name];
    if (!resolver) throw new Error(`the security suite does not know how to fill the path parameter {${name}}: add it to RESOLVERS`);
    const value = await resolver.existing(app, owner, resolve);
    owner.values.set(name, value);
    return value;
  };
  return resolve;
}

function fillPath(template: string, values: Record<string, string>) {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for {${name}}`);
    return encodeURIComponent(v);
  });
}

/** What the webhook worker writes in the background, whatever the requests: left out of snapshots. */
const BACKGROUND = new Set(['webhook_deliveries', 'webhook_attempts']);

/** Every row of every table of the platform, to prove that a refused request changed nothing. */
async function snapshot(app: FastifyInstance): Promise<string> {
  const db = app.platform.store.db;
  const tables = (await db.introspection.getTables()).map((t) => t.name).filter((n) => !n.startsWith('kysely_')).sort();
  const out: Record<string, string[]> = {};
  for (const table of tables.filter((t) => !BACKGROUND.has(t))) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
    out[table] = rows.rows.map((r) => JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? String(v) : k === 'dispatched' ? undefined : v))).sort();
  }
  return JSON.stringify(out);
}

function expectProblem(res: Response, status: number) {
  expect({ status: res.statusCode, problem: isProblem(res) }, res.body).toEqual({ status, problem: true });
  expect(res.json()).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String), instance: expect.any(String) });
}

/** The owner's key on the owner's resource gets through: a success, or a 409 where the state of a
 * fresh resource does not allow the operation (capturing a purchase that is still pending). Anything
 * else means the key, the resolver or the sample body is wrong. */
function expectAdmitted(op: Operation, res: Response) {
  const admitted = (res.statusCode >= 200 && res.statusCode < 300) || res.statusCode === 409;
  expect(admitted, `${op.key} with its owner's key answered ${res.statusCode}: ${res.body}`).toBe(true);
}

/** The same 404, once the identifiers that differ are taken out of it. */
function normalised(res: Response, values: string[]) {
  let body = res.body;
  for (const v of values) body = body.split(v).join('{value}').split(encodeURIComponent(v)).join('{value}');
  // Each response has a request id of its own; everything else must be the same.
  const { request_id: _requestId, ...rest } = JSON.parse(body) as Record<string, unknown>;
  return { status: res.statusCode, type: res.headers['content-type'], body: rest };
}

describe('the security suite covers the whole MerchantAPI', () => {
  it('finds the MerchantAPI operations in the OpenAPI document', () => {
    const keys = OPERATIONS.map((o) => o.key);
    expect(keys).toEqual(expect.arrayContaining(['GET /apikeys', 'POST /apikeys', 'DELETE /apikeys/{id}', 'GET /stores', 'GET /terminals']));
  });

  it.each(OPERATIONS.map((o) => [o.key, o] as const))('knows how to call %s', (_key, op) => {
    for (const name of op.pathParams) expect(RESOLVERS, `no resolver for the path parameter {${name}} of ${op.key}`).toHaveProperty(name);
    if (op.hasBody) expect(SAMPLE_BODIES, `no sample body for ${op.key}`).toHaveProperty([op.key]);
  });
});

describeEachStore('MerchantAPI security', (dialect) => {
  const ctx = usePlatform(dialect);

  describe.each(OPERATIONS.map((o) => [o.key, o] as const))('%s', (_key, op) => {
    /** Fresh customers per operation, so one operation's effects never help another pass. */
    const setup = async () => {
      const app = ctx().app;
      const a: Owner = { customer: await onboard(app), values: new Map() };
      const b: Owner = { customer: await onboard(app), values: new Map() };
      const valuesA: Record<string, string> = {};
      const valuesB: Record<string, string> = {};
      for (const name of op.pathParams) {
        valuesA[name] = await resolverFor(app, a)(name);
        valuesB[name] = await resolverFor(app, b)(name);
      }
      if (op.hasBody && !(op.key in SAMPLE_BODIES)) throw new Error(`no sample body for ${op.key}: add one to SAMPLE_BODIES`);
      const body = op.hasBody ? SAMPLE_BODIES[op.key] : undefined;
      const call = (apiKey: string | undefined, values: Record<string, string>) => merchantApi(app, apiKey)(op.method, fillPath(op.path, values), body);
      // Use both valid keys once and let their usage writes (at most one a minute) land before any
      // snapshot is taken: later requests with them must then change nothing.
      for (const owner of [a, b]) expect((await merchantApi(app, owner.customer.apiKey)('GET', '/stores')).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, 30));
      return { app, a, b, valuesA, valuesB, call };
    };

    it('refuses a missing, unknown, revoked, expired or not-yet-valid key, changing nothing', async () => {
      const { app, a, valuesA, call } = await setup();
      const now = Date.now();
      const customerId = a.customer.customerId;
      const { apiKeys } = app.platform;

      const second = await apiKeys.issue(customerId, 'to be revoked');
      if (!second.ok) throw new Error(second.detail);
      const revoked = await apiKeys.revoke({ customerId, keyId: a.customer.keyId }, second.value.id);
      expect(revoked.ok).toBe(true);
      const future = await apiKeys.issue(customerId, 'from tomorrow', { from: now + 86_400_000 });
      if (!future.ok) throw new Error(future.detail);
      // The service refuses to issue a key that has already ended: write one the way time leaves it.
      const expired = newSecret(API_KEY_PREFIX);
      await app.platform.store.db
        .insertInto('api_keys')
        .values({
          customer_id: customerId,
          label: 'expired',
          prefix: expired.slice(0, API_KEY_PREFIX.length + 4),
          key_hash: hashSecret(expired),
          valid_from: now - 7_200_000,
          valid_until: now - 3_600_000,
          created_at: now - 7_200_000,
        })
        .execute();

      const before = await snapshot(app);
      expectProblem(await call(undefined, valuesA), 401);
      expectProblem(await call('', valuesA), 401);
      expectProblem(await call(newSecret(API_KEY_PREFIX), valuesA), 403);
      expectProblem(await call('not-even-a-key', valuesA), 403);
      expectProblem(await call(second.value.apikey, valuesA), 403);
      expectProblem(await call(expired, valuesA), 403);
      expectProblem(await call(future.value.apikey, valuesA), 403);
      expect(await snapshot(app)).toBe(before);
    });

    if (op.pathParams.length > 0) it('answers 404 for another customer’s resource, exactly as for one that does not exist', async () => {
      const { app, a, b, valuesA, valuesB, call } = await setup();
      const before = await snapshot(app);
      // Each parameter in turn (and all of them at once) names B's resource; the rest stay A's.
      const swaps = [...op.pathParams.map((p) => [p]), ...(op.pathParams.length > 1 ? [op.pathParams] : [])];
      for (const swap of swaps) {
        const foreign = { ...valuesA, ...Object.fromEntries(swap.map((p) => [p, valuesB[p]!])) };
        const missing = { ...valuesA, ...Object.fromEntries(swap.map((p) => [p, RESOLVERS[p]!.missing])) };
        const other = await call(a.customer.apiKey, foreign);
        const none = await call(a.customer.apiKey, missing);
        expectProblem(other, 404);
        expectProblem(none, 404);
        expect(normalised(other, swap.map((p) => foreign[p]!))).toEqual(normalised(none, swap.map((p) => missing[p]!)));
      }
      expect(await snapshot(app)).toBe(before);
      // B's resources are still there for B, and A's for A: the 404s above were about ownership.
      for (const [owner, values] of [
        [b, valuesB],
        [a, valuesA],
      ] as const) {
        expectAdmitted(op, await call(owner.customer.apiKey, values));
      }
    });

    it('lets the owner’s valid key through', async () => {
      const { a, valuesA, call } = await setup();
      expectAdmitted(op, await call(a.customer.apiKey, valuesA));
    });
  });
});

describeEachStore('public endpoints', (dialect) => {
  const ctx = usePlatform(dialect);

  it.each(['/openapi.json', '/docs', '/healthz'])('%s answers without a key', async (url) => {
    const res = await merchantApi(ctx().app)('GET', url);
    // /docs may redirect to its index page; follow once
    const final = res.statusCode >= 300 && res.statusCode < 400 ? await merchantApi(ctx().app)('GET', new URL(String(res.headers.location), 'http://x' + url + '/').pathname) : res;
    expect(final.statusCode, final.body).toBe(200);
    expect(isProblem(final)).toBe(false);
  });
});
