import { ApiKeyService } from './services/api-keys.js';
import { OnboardingService } from './services/onboarding.js';
import { DEFAULT_DATABASE_URL } from './config.js';
import type { Database } from './db/database.js';
import { isSqliteUrl, sqliteFileOf, withoutPassword } from './db/url.js';

/** The demo the sandbox onboards on an empty database. */
export const DEMO = {
  customer: 'Demo customer',
  merchant: 'Demo merchant',
  store: { name: 'Demo store', address: 'Damrak 1\n1012 LG Amsterdam', timezone: 'Europe/Amsterdam', currency: 'EUR' },
  terminal: { manufacturer: 'SUNMI', model: 'P2lite', serial: 'SIM00000001' },
} as const;

export interface DemoSecrets {
  terminalId: string;
  apiKey: string;
  deviceToken: string;
}

/**
 * Onboards the demo customer, merchant, store and simulated terminal when the database has no
 * customer yet; answers the secrets to print once, or undefined when there was nothing to do.
 *
 * Two instances starting at once: the check and every insert run in one database transaction.
 * On SQLite a transaction takes the write lock when it begins, so the second waits for the first
 * to commit and then finds its customer; on PostgreSQL the demo terminal's unique id makes the
 * second insert fail once the first commits, and the loser rolls back. Either way the loser
 * prints nothing.
 */
export async function onboardDemoIfEmpty(store: Database, now: () => number = Date.now): Promise<DemoSecrets | undefined> {
  const isEmpty = async () => (await store.db.selectFrom('customers').select('id').limit(1).execute()).length === 0;
  if (!(await isEmpty())) return undefined;
  try {
    return await store.db.transaction().execute(async (tx) => {
      if ((await tx.selectFrom('customers').select('id').limit(1).execute()).length > 0) return undefined;
      const inTx: Database = { db: tx, dialect: store.dialect, close: async () => {} };
      const onboarding = new OnboardingService(inTx, now);
      const keys = new ApiKeyService(inTx, now, 0);
      const must = <T>(r: { ok: true; value: T } | { ok: false; detail: string }): T => {
        if (!r.ok) throw new Error(`first run: ${r.detail}`);
        return r.value;
      };
      const customer = must(await onboarding.createCustomer(DEMO.customer));
      const merchant = must(await onboarding.createMerchant(customer.id, DEMO.merchant));
      const shop = must(await onboarding.createStore({ merchantId: merchant.id, name: DEMO.store.name, address: DEMO.store.address, timezone: DEMO.store.timezone, currency: DEMO.store.currency }));
      const terminal = must(await onboarding.registerTerminal({ storeUuid: shop.uuid, ...DEMO.terminal }));
      const key = must(await keys.issue(customer.id, 'Demo key (first run)'));
      return { terminalId: terminal.id, apiKey: key.apikey, deviceToken: terminal.device_token };
    });
  } catch (e) {
    if (!(await isEmpty())) return undefined; // another instance onboarded the demo first
    throw e;
  }
}

/** Shell-quotes a value for the printed commands. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How a printed admin command names the server's database: nothing on the default (run from
 * the same directory), else DATABASE_URL with a SQLite path made absolute and a PostgreSQL password
 * left out (libpq's PGPASSWORD or ~/.pgpass supplies it), so the command acts on this database. */
export function adminPrefix(databaseUrl: string | undefined): string {
  if (databaseUrl === undefined || databaseUrl === DEFAULT_DATABASE_URL) return '';
  const url = isSqliteUrl(databaseUrl) ? `sqlite:${sqliteFileOf(databaseUrl) ?? ''}` : withoutPassword(databaseUrl);
  return `DATABASE_URL=${q(url)} `;
}

/** The lines printed once on the first run; the commands work as printed in a POSIX shell. */
export function firstRunBanner(demo: DemoSecrets, base: string, databaseUrl?: string): string {
  const terminalUrl = `${base}/terminals/${demo.terminalId}/transactions`;
  const key = `-H ${q(`API-Key: ${demo.apiKey}`)}`;
  const body = JSON.stringify({ type: 'PURCHASE', merchant_order_reference: 'demo-1', amount: { value: 12.5, currency: 'EUR' } });
  const rule = '='.repeat(78);
  return [
    rule,
    'First run: a demo customer, merchant, store and simulated terminal were onboarded.',
    'These secrets are shown once, now. Keep them; only their hashes are stored.',
    '',
    `API-Key: ${demo.apiKey}`,
    `Device token: ${demo.deviceToken}`,
    `Terminal: ${demo.terminalId}`,
    '',
    `API reference:      ${base}/docs`,
    // The key rides in the fragment, which browsers never send to a server; the page keeps it in the tab.
    `Terminal simulator: ${base}/simulator#key=${encodeURIComponent(demo.apiKey)}`,
    '',
    '# 1. create a payment of 12.50 EUR (prints it and keeps its id in $TX)',
    `R=$(curl -sS -X POST ${q(terminalUrl)} ${key} -H 'Content-Type: application/json' -d ${q(body)}); echo "$R"; TX=$(echo "$R" | grep -o '"id":"[0-9]*"' | head -n1 | cut -d'"' -f4)`,
    '# 2. pay it: tap a card on the simulator page, or run the terminal in another shell:',
    `npx cloudpos terminal run --server ${base} --token ${demo.deviceToken} --card 4111111111111111 --once`,
    '# 3. read its status',
    `curl -sS "${terminalUrl}/$TX" ${key}; echo`,
    '# 4. cancel it (204 while no card was presented, 409 after)',
    `curl -sS -X DELETE "${terminalUrl}/$TX" ${key} -o /dev/null -w '%{http_code}\\n'`,
    '',
    `A lost device token is replaced with: ${adminPrefix(databaseUrl)}npx cloudpos admin terminal rotate-token --id ${demo.terminalId}`,
    rule,
  ].join('\n');
}
