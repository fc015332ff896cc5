import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import type { ErrorKind } from '../domain/errors.js';
import type { Result } from '../domain/result.js';
import { ApiKeyService } from '../services/api-keys.js';
import { OnboardingService } from '../services/onboarding.js';
import { migrateToLatest, openDatabase } from '../db/database.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const ADMIN_USAGE = `usage: cloudpos admin <resource> <action> [options] [--json]

  customer create --name NAME
  customer list
  merchant create --customer ID --name NAME
  merchant list [--customer ID]
  store create --merchant ID --name NAME [--timezone TZ] [--currency EUR] [--address TEXT] [--receipt-width 24]
  store list [--merchant ID]
  terminal register --store UUID --manufacturer M --model MODEL --serial S
  terminal list [--store UUID]
  terminal rotate-token --id M-MODEL-S
  apikey issue --customer ID --label LABEL [--valid-from ISO] [--valid-until ISO]
  apikey list --customer ID
  apikey revoke --customer ID --id KEY_ID [--force]

The database is the one DATABASE_URL names (default sqlite:./data/cloudpos.sqlite).
--json prints exactly one JSON object on stdout.`;

class UsageError extends Error {}

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  customer: { type: 'string' },
  merchant: { type: 'string' },
  store: { type: 'string' },
  timezone: { type: 'string' },
  currency: { type: 'string' },
  address: { type: 'string' },
  'receipt-width': { type: 'string' },
  manufacturer: { type: 'string' },
  model: { type: 'string' },
  serial: { type: 'string' },
  label: { type: 'string' },
  id: { type: 'string' },
  'valid-from': { type: 'string' },
  'valid-until': { type: 'string' },
  force: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function required(values: Values, name: keyof Values): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${String(name)} is required`);
  return v;
}

function integer(values: Values, name: keyof Values): number {
  const raw = required(values, name);
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${String(name)} must be a whole number`);
  return Number(raw);
}

function time(values: Values, name: 'valid-from' | 'valid-until'): number | null {
  const raw = values[name];
  if (raw === undefined) return null;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`--${name} must be an RFC 3339 date-time such as 2027-01-01T00:00:00Z`);
  return t;
}

type Outcome = { json: Record<string, unknown>; text: string };

/** Runs one admin command; prints one JSON object with --json, readable lines otherwise. */
export async function runAdmin(argv: string[], config: Config, io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.out(ADMIN_USAGE);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const store = openDatabase(config.DATABASE_URL, { poolSize: 2, preparedStatements: config.PG_PREPARED_STATEMENTS });
  try {
    await migrateToLatest(store);
    const onboarding = new OnboardingService(store);
    const keys = new ApiKeyService(store, Date.now, 0);
    const fail = (r: Result<unknown, ErrorKind>) => {
      if (r.ok) throw new Error('unreachable');
      return { error: r.error, detail: r.detail };
    };
    const run = async (): Promise<Outcome | { error: string; detail: string }> => {
      const command = positionals.slice(0, 2).join(' ');
      switch (command) {
        case 'customer create': {
          const r = await onboarding.createCustomer(required(values, 'name'));
          if (!r.ok) return fail(r);
          return { json: r.value, text: `customer ${r.value.id} "${r.value.name}" created` };
        }
        case 'customer list': {
          const rows = await onboarding.listCustomers();
          const customers = rows.map((c) => ({ id: Number(c.id), name: c.name, created_at: new Date(c.created_at).toISOString() }));
          return { json: { customers }, text: customers.map((c) => `${c.id}\t${c.name}`).join('\n') || '(no customers)' };
        }
        case 'merchant create': {
          const r = await onboarding.createMerchant(integer(values, 'customer'), required(values, 'name'));
          if (!r.ok) return fail(r);
          return { json: r.value, text: `merchant ${r.value.id} "${r.value.name}" created for customer ${r.value.customer_id}` };
        }
        case 'merchant list': {
          const rows = await onboarding.listMerchants(values.customer === undefined ? undefined : integer(values, 'customer'));
          const merchants = rows.map((m) => ({ id: Number(m.id), customer_id: Number(m.customer_id), name: m.name }));
          return { json: { merchants }, text: merchants.map((m) => `${m.id}\tcustomer ${m.customer_id}\t${m.name}`).join('\n') || '(no merchants)' };
        }
        case 'store create': {
          const width = values['receipt-width'];
          const r = await onboarding.createStore({
            merchantId: integer(values, 'merchant'),
            name: required(values, 'name'),
            ...(values.timezone !== undefined && { timezone: values.timezone }),
            ...(values.currency !== undefined && { currency: values.currency }),
            ...(values.address !== undefined && { address: values.address }),
            ...(width !== undefined && { receiptWidth: Number(width) }),
          });
          if (!r.ok) return fail(r);
          const s = r.value;
          return {
            json: { uuid: s.uuid, merchant_id: s.merchant_id, name: s.name, address: s.address, timezone: s.timezone, currency: s.currency, receipt_width: s.receipt_width },
            text: `store ${s.uuid} "${s.name}" created (${s.timezone}, ${s.currency})`,
          };
        }
        case 'store list': {
          const rows = await onboarding.listStores(values.merchant === undefined ? undefined : integer(values, 'merchant'));
          const stores = rows.map((s) => ({ uuid: s.uuid, merchant_id: Number(s.merchant_id), name: s.name, timezone: s.timezone, currency: s.currency }));
          return { json: { stores }, text: stores.map((s) => `${s.uuid}\tmerchant ${s.merchant_id}\t${s.name}\t${s.timezone}\t${s.currency}`).join('\n') || '(no stores)' };
        }
        case 'terminal register': {
          const r = await onboarding.registerTerminal({
            storeUuid: required(values, 'store'),
            manufacturer: required(values, 'manufacturer'),
            model: required(values, 'model'),
            serial: required(values, 'serial'),
          });
          if (!r.ok) return fail(r);
          const t = r.value;
          return {
            json: { id: t.id, device_token: t.device_token, store_uuid: t.store_uuid, manufacturer: t.manufacturer, model: t.model, serial: t.serial },
            text: `terminal ${t.id} registered in store ${t.store_uuid}\nDevice token: ${t.device_token}\n(shown once: configure it on the terminal now)`,
          };
        }
        case 'terminal list': {
          const rows = await onboarding.listTerminals(values.store);
          const terminals = rows.map((t) => ({
            id: t.id,
            store_uuid: t.store.uuid,
            customer_id: t.customer_id,
            last_seen: t.last_seen_at === null ? null : new Date(t.last_seen_at).toISOString(),
          }));
          return { json: { terminals }, text: terminals.map((t) => `${t.id}\tstore ${t.store_uuid}\tlast seen ${t.last_seen ?? 'never'}`).join('\n') || '(no terminals)' };
        }
        case 'terminal rotate-token': {
          const r = await onboarding.rotateDeviceToken(required(values, 'id'));
          if (!r.ok) return fail(r);
          return { json: r.value, text: `terminal ${r.value.id}\nDevice token: ${r.value.device_token}\n(the previous token no longer works)` };
        }
        case 'apikey issue': {
          const customerId = integer(values, 'customer');
          if (!(await onboarding.findCustomer(customerId))) return { error: 'NOT_FOUND', detail: `no customer ${customerId}` };
          const r = await keys.issue(customerId, required(values, 'label'), { from: time(values, 'valid-from'), until: time(values, 'valid-until') });
          if (!r.ok) return fail(r);
          return {
            json: { id: r.value.id, label: r.value.label, apikey: r.value.apikey },
            text: `API key ${r.value.id} "${r.value.label}" issued for customer ${customerId}\nAPI-Key: ${r.value.apikey}\n(shown once: hand it over securely)`,
          };
        }
        case 'apikey list': {
          const rows = await keys.listForCustomer(integer(values, 'customer'));
          const apikeys = rows.map((k) => ({
            id: Number(k.id),
            label: k.label,
            prefix: k.prefix,
            revoked: k.revoked_at !== null,
            valid_from: k.valid_from === null ? null : new Date(k.valid_from).toISOString(),
            valid_until: k.valid_until === null ? null : new Date(k.valid_until).toISOString(),
            last_usage: k.last_used_at === null ? null : new Date(k.last_used_at).toISOString(),
          }));
          return { json: { apikeys }, text: apikeys.map((k) => `${k.id}\t${k.prefix}…\t${k.label}${k.revoked ? '\t(revoked)' : ''}`).join('\n') || '(no keys)' };
        }
        case 'apikey revoke': {
          const customerId = integer(values, 'customer');
          const id = integer(values, 'id');
          const r = await keys.revokeAsOperator(customerId, id, { force: values.force === true });
          if (!r.ok && r.error === 'NOT_FOUND') return { error: r.error, detail: `no unrevoked, unexpired key ${id} of customer ${customerId}` };
          if (!r.ok && r.error === 'LAST_VALID_KEY') {
            return { error: r.error, detail: `key ${id} is customer ${customerId}'s last valid key without an end date: revoking it locks the customer out once its other keys end (--force revokes it all the same)` };
          }
          if (!r.ok) return fail(r);
          return { json: { id, revoked: true }, text: `API key ${id} revoked` };
        }
        default:
          throw new UsageError(`unknown command "${command}"`);
      }
    };
    const outcome = await run();
    if ('error' in outcome) {
      if (values.json) io.out(JSON.stringify(outcome));
      io.err(`error: ${outcome.detail}`);
      return 1;
    }
    io.out(values.json ? JSON.stringify(outcome.json) : outcome.text);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n\n${ADMIN_USAGE}`);
      return 2;
    }
    throw e;
  } finally {
    await store.close();
  }
}
