import type { FastifyInstance } from 'fastify';
import type { Response } from './http.js';
import { merchantApi } from './http.js';
import type { OnboardedCustomer } from './platform.js';

export const APPROVE = '4111111111111111';
export const DECLINE = '4000000000000002';
export const EXPIRY = '12/39';

/** The terminal's side of the device API, with its device token. */
export function deviceApi(app: FastifyInstance, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  return {
    config: () => app.inject({ method: 'GET', url: '/device/v1/config', headers }),
    next: (wait?: number) => app.inject({ method: 'GET', url: `/device/v1/transactions/next${wait === undefined ? '' : `?wait=${wait}`}`, headers }),
    get: (id: string) => app.inject({ method: 'GET', url: `/device/v1/transactions/${id}`, headers }),
    card: (id: string, number = APPROVE, entry_mode = 'CONTACTLESS') =>
      app.inject({ method: 'POST', url: `/device/v1/transactions/${id}/card`, headers, payload: { entry_mode, card: { number, expiry: EXPIRY } } }),
    cancel: (id: string) => app.inject({ method: 'POST', url: `/device/v1/transactions/${id}/cancel`, headers }),
  };
}

export const purchase = (value: number, ref = 'inv2112280004', currency = 'EUR') => ({
  type: 'PURCHASE',
  merchant_order_reference: ref,
  amount: { value, currency },
});

/** Customer system and terminal together: create, fetch, present a card. */
export async function pay(app: FastifyInstance, c: OnboardedCustomer, body: unknown, card = APPROVE, terminal = 0): Promise<{ created: Response; finished: Response }> {
  const api = merchantApi(app, c.apiKey);
  const t = c.terminals[terminal]!;
  const created = await api('POST', `/terminals/${t.id}/transactions`, body);
  if (created.statusCode !== 201) throw new Error(`create: ${created.statusCode} ${created.body}`);
  const device = deviceApi(app, t.deviceToken);
  const fetched = await device.next();
  if (fetched.statusCode !== 200 || fetched.json().id !== created.json().id) throw new Error(`next: ${fetched.statusCode} ${fetched.body}`);
  const finished = await device.card(created.json().id, card);
  return { created, finished };
}
