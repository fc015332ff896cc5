/**
 * A typed client of the cloudpos MerchantAPI (and of the device API, for terminal software),
 * built with openapi-fetch on the types openapi-typescript generates from /openapi.json
 * (./schema.ts). Every call answers `{ data, error, response }`: `data` on a 2xx, `error` (the
 * problem details) otherwise; nothing throws but the network.
 *
 *   const cloudpos = createMerchantClient({ baseUrl: 'http://localhost:8080', apiKey });
 *   const { data, error } = await cloudpos.POST('/terminals/{terminalId}/transactions', {
 *     params: { path: { terminalId } },
 *     body: { type: 'PURCHASE', merchant_order_reference: 'inv-1', amount: { value: 12.5, currency: 'EUR' } },
 *   });
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

type Schemas = components['schemas'];
export type Transaction = Schemas['Transaction'];
export type TransactionStatus = Schemas['TransactionStatus'];
export type TransactionType = Schemas['TransactionType'];
export type Amount = Schemas['Amount'];
export type Terminal = Schemas['Terminal'];
export type Store = Schemas['Store'];
export type ProblemDetails = Schemas['ProblemDetails'];

export type CloudposClient = Client<paths>;

export interface MerchantClientOptions extends ClientOptions {
  /** where the platform is reached, e.g. `https://pay.example.com` */
  baseUrl: string;
  /** the customer's API key, sent as the `API-Key` header */
  apiKey: string;
}

/** A client of the MerchantAPI acting for the customer whose API key it carries. */
export function createMerchantClient({ apiKey, headers, ...options }: MerchantClientOptions): CloudposClient {
  return createClient<paths>({ ...options, headers: { ...headersObject(headers), 'API-Key': apiKey } });
}

export interface DeviceClientOptions extends ClientOptions {
  baseUrl: string;
  /** the device token issued when the terminal was registered, sent as a bearer token */
  deviceToken: string;
}

/** A client of the device API (`/device/v1/…`) acting as one terminal. */
export function createDeviceClient({ deviceToken, headers, ...options }: DeviceClientOptions): CloudposClient {
  return createClient<paths>({ ...options, headers: { ...headersObject(headers), Authorization: `Bearer ${deviceToken}` } });
}

/** A transaction the backend need not follow further: cleared, cancelled (declined ones too), or
 * an authorized pre-authorization waiting for its capture or release. */
export function isSettled(t: Pick<Transaction, 'status' | 'type'>): boolean {
  return t.status === 'CLEARED' || t.status === 'CANCELLED' || (t.status === 'AUTHORIZED' && t.type === 'PRE_AUTHORIZATION');
}

function headersObject(headers: ClientOptions['headers']): Record<string, string> {
  if (!headers) return {};
  const out: Record<string, string> = {};
  if (headers instanceof Headers || Array.isArray(headers)) {
    new Headers(headers).forEach((value, key) => (out[key] = value));
    return out;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (value === null || value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
