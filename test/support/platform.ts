import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import type { Acquirer } from '../../src/acquirer/acquirer.js';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Dialect } from '../../src/db/database.js';
import type { Tables } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from './stores.js';

/** A clock the tests can move. */
export class TestClock {
  constructor(public ms = Date.now()) {}
  now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

export interface TestPlatform {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  clock: TestClock | undefined;
}

export interface PlatformSetup {
  env?: Record<string, string>;
  /** use a movable clock instead of the real one */
  clock?: boolean;
  /** adds routes before the app is ready (fault injection) */
  extend?: (app: FastifyInstance) => void;
  /** collects every log line the app writes, at trace level */
  logs?: string[];
  /** an acquirer connector in place of the sandbox acquirer */
  acquirer?: Acquirer;
}

/** The real HTTP app on a fresh database of the given dialect, for the enclosing describe block. */
export function usePlatform(dialect: Dialect, setup: PlatformSetup = {}): () => TestPlatform {
  let platform: TestPlatform | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase(dialect);
    const config = loadConfig({ LOG_LEVEL: 'silent', AUTH_CACHE_MS: '0', ...setup.env, DATABASE_URL: db.url });
    const clock = setup.clock ? new TestClock() : undefined;
    const logs = setup.logs;
    const app = await buildApp({
      config,
      store: db.store,
      ...(clock && { now: clock.now }),
      ...(setup.acquirer && { acquirer: setup.acquirer }),
      ...(logs && { logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } } }),
    });
    setup.extend?.(app);
    await app.ready();
    platform = { app, db, config, clock };
  });
  afterAll(async () => {
    await platform?.app.close();
    await platform?.db.drop();
  });
  return () => {
    if (!platform) throw new Error('platform not ready');
    return platform;
  };
}

export interface OnboardedTerminal {
  id: string;
  deviceToken: string;
}

export interface OnboardedCustomer {
  customerId: number;
  apiKey: string;
  keyId: number;
  merchants: number[];
  stores: string[];
  terminals: OnboardedTerminal[];
}

let serial = 0;

/** Onboards a customer the way the operators do: merchants → stores → terminals, and a first key. */
export async function onboard(
  app: FastifyInstance,
  shape: { merchants?: number; storesPerMerchant?: number; terminalsPerStore?: number; currency?: string; timezone?: string } = {},
): Promise<OnboardedCustomer> {
  const { onboarding, apiKeys } = app.platform;
  const must = <T>(r: { ok: true; value: T } | { ok: false; detail: string }): T => {
    if (!r.ok) throw new Error(r.detail);
    return r.value;
  };
  const customer = must(await onboarding.createCustomer(`Customer ${++serial}`));
  const out: OnboardedCustomer = { customerId: customer.id, apiKey: '', keyId: 0, merchants: [], stores: [], terminals: [] };
  for (let m = 0; m < (shape.merchants ?? 1); m++) {
    const merchant = must(await onboarding.createMerchant(customer.id, `Merchant ${customer.id}.${m + 1}`));
    out.merchants.push(merchant.id);
    for (let s = 0; s < (shape.storesPerMerchant ?? 1); s++) {
      const store = must(
        await onboarding.createStore({
          merchantId: merchant.id,
          name: `Store ${customer.id}.${m + 1}.${s + 1}`,
          address: 'Damrak 1\n1012 LG Amsterdam',
          ...(shape.currency && { currency: shape.currency }),
          ...(shape.timezone && { timezone: shape.timezone }),
        }),
      );
      out.stores.push(store.uuid);
      for (let t = 0; t < (shape.terminalsPerStore ?? 1); t++) {
        const terminal = must(
          await onboarding.registerTerminal({ storeUuid: store.uuid, manufacturer: 'SUNMI', model: 'P2lite', serial: `PL${process.pid}X${++serial}` }),
        );
        out.terminals.push({ id: terminal.id, deviceToken: terminal.device_token });
      }
    }
  }
  const key = must(await apiKeys.issue(customer.id, 'Initial API Key'));
  out.apiKey = key.apikey;
  out.keyId = key.id;
  return out;
}

/** The terminal onboard() registered last: the latest row. */
export async function latestTerminalPk(db: Kysely<Tables>): Promise<number> {
  return Number((await sql<{ id: string }>`select max(id) as id from terminals`.execute(db)).rows[0]!.id);
}
