import { expect, it } from 'vitest';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, purchase } from '../support/terminal.js';

describeEachStore('waiting for a result (?wait=)', (dialect) => {
  const ctx = usePlatform(dialect);

  it('answers the moment the card outcome is recorded, before a shorter wait would have run out', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const api = merchantApi(ctx().app, c.apiKey);
    const [t, other] = c.terminals as [(typeof c.terminals)[0], (typeof c.terminals)[0]];
    const id = (await api('POST', `/terminals/${t.id}/transactions`, purchase(9.99))).json().id as string;
    const otherId = (await api('POST', `/terminals/${other.id}/transactions`, purchase(1))).json().id as string;
    const device = deviceApi(ctx().app, t.deviceToken);
    await device.next();
    const order: string[] = [];
    const waiting = api('GET', `/terminals/${t.id}/transactions/${id}?wait=60`).then((res) => (order.push('wait=60'), res));
    // A witness: a wait of 20 s on a transaction nothing happens to ends by running out.
    const witness = api('GET', `/terminals/${other.id}/transactions/${otherId}?wait=20`).then((res) => (order.push('wait=20'), res));
    while (ctx().app.platform.transactions.heldWaits() < 2) await new Promise((r) => setTimeout(r, 5));
    expect((await device.card(id)).json().status).toBe('CLEARED');
    const res = await Promise.race([waiting, witness]);
    // The 60 s wait answered first, with the outcome: only a wake-up answers it before the 20 s one.
    expect(order).toEqual(['wait=60']);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'CLEARED', result: 'APPROVED' });
    await api('DELETE', `/terminals/${other.id}/transactions/${otherId}`);
    expect((await witness).json()).toMatchObject({ id: otherId, status: 'CANCELLED' });
  }, 60_000);

  it('answers at once when the transaction is final, and with the unchanged state after S seconds', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const id = (await api('POST', `/terminals/${t.id}/transactions`, purchase(3))).json().id as string;
    const held = api('GET', `/terminals/${t.id}/transactions/${id}?wait=1`);
    while (ctx().app.platform.transactions.heldWaits() < 1) await new Promise((r) => setTimeout(r, 5));
    const timedOut = await held;
    expect(timedOut.statusCode).toBe(200);
    expect(timedOut.json()).toMatchObject({ id, status: 'CREATED' });
    await api('DELETE', `/terminals/${t.id}/transactions/${id}`);
    // Final: answered without being held.
    const final = await api('GET', `/terminals/${t.id}/transactions/${id}?wait=60`);
    expect(final.json()).toMatchObject({ id, status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });
    expect(ctx().app.platform.transactions.heldWaits()).toBe(0);
  });

  it('answers an authorized pre-authorization at once: AUTHORIZED is final for it', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const id = (await api('POST', `/terminals/${t.id}/transactions`, { ...purchase(40), type: 'PRE_AUTHORIZATION' })).json().id as string;
    const device = deviceApi(ctx().app, t.deviceToken);
    await device.next();
    const waiting = api('GET', `/terminals/${t.id}/transactions/${id}?wait=60`);
    while (ctx().app.platform.transactions.heldWaits() < 1) await new Promise((r) => setTimeout(r, 5));
    await device.card(id);
    expect((await waiting).json()).toMatchObject({ status: 'AUTHORIZED', result: 'APPROVED' });
    expect((await api('GET', `/terminals/${t.id}/transactions/${id}?wait=60`)).json().status).toBe('AUTHORIZED');
  });

  it('refuses a wait outside 0–60 with a 400 problem, and 404s what is not the customer’s', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const id = (await api('POST', `/terminals/${t.id}/transactions`, purchase(3))).json().id as string;
    for (const wait of ['61', '-1', 'abc', '1e9']) {
      const res = await api('GET', `/terminals/${t.id}/transactions/${id}?wait=${wait}`);
      expect(res.statusCode, wait).toBe(400);
      expect(isProblem(res)).toBe(true);
    }
    expect((await api('GET', `/terminals/${t.id}/transactions/${id}?wait=0`)).json().status).toBe('CREATED');
    const other = merchantApi(ctx().app, (await onboard(ctx().app)).apiKey);
    expect((await other('GET', `/terminals/${t.id}/transactions/${id}?wait=5`)).statusCode).toBe(404);
  });
});
