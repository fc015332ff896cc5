/** Onboards the benchmark's customer through the platform's own services, in one process and before
 * any server starts: one customer, merchant and store, `terminals` terminals with their device
 * tokens, and one API key. The terminals are registered in one database transaction, so 10,000 of
 * them take seconds, not one durable commit each. */
import { ApiKeyService } from '../src/services/api-keys.js';
import { OnboardingService } from '../src/services/onboarding.js';
import { migrateToLatest, openDatabase, type Database } from '../src/db/database.js';

export interface Seeded {
  apiKey: string;
  customerId: number;
  terminals: Array<{ id: string; token: string; pk: number }>;
}

function must<T>(r: { ok: true; value: T } | { ok: false; detail: string }): T {
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

export async function seed(url: string, terminals: number): Promise<Seeded> {
  const store = openDatabase(url);
  try {
    await migrateToLatest(store);
    const onboarding = new OnboardingService(store);
    const customer = must(await onboarding.createCustomer('Bench Customer'));
    const merchant = must(await onboarding.createMerchant(customer.id, 'Bench Merchant'));
    const shop = must(await onboarding.createStore({ merchantId: merchant.id, name: 'Bench Store', address: 'Damrak 1', currency: 'EUR' }));
    const registered = await store.db.transaction().execute(async (tx) => {
      const inTx = new OnboardingService({ db: tx, dialect: store.dialect, close: async () => {} } satisfies Database);
      const out: Seeded['terminals'] = [];
      for (let i = 0; i < terminals; i++) {
        const t = must(await inTx.registerTerminal({ storeUuid: shop.uuid, manufacturer: 'BENCH', model: 'T-1', serial: `S${String(i).padStart(6, '0')}` }));
        out.push({ id: t.id, token: t.device_token, pk: t.pk });
      }
      return out;
    });
    const key = must(await new ApiKeyService(store, Date.now, 0).issue(customer.id, 'bench'));
    return { apiKey: key.apikey, customerId: customer.id, terminals: registered };
  } finally {
    await store.close();
  }
}
