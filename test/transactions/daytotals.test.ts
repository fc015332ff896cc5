import { expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { DECLINE, pay, purchase } from '../support/terminal.js';

describeEachStore('day totals', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true });

  it('sums today’s transactions per type and brand, as JSON and as a receipt', async () => {
    const clock = ctx().clock!;
    // 10:00 in Amsterdam.
    clock.ms = Date.parse('2026-03-10T09:00:00Z');
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const p1 = (await pay(ctx().app, c, purchase(98.75))).created.json().id;
    await pay(ctx().app, c, purchase(10), '5555555555554444');
    await pay(ctx().app, c, purchase(99), DECLINE);
    await pay(ctx().app, c, { type: 'REFUND', merchant_order_reference: 'r', amount: { value: 8.75, currency: 'EUR' }, reference: { id: p1 } });
    await pay(ctx().app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: 'h', amount: { value: 50, currency: 'EUR' } });

    const res = await api('GET', `/terminals/${c.terminals[0]!.id}/daytotals/today`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ terminal_id: c.terminals[0]!.id, date: '2026-03-10', timezone: 'Europe/Amsterdam' });
    const eur = body.currencies[0];
    expect(eur.net_total).toEqual({ value: 100, currency: 'EUR' });
    expect(eur.per_type).toEqual(
      expect.arrayContaining([
        { type: 'PURCHASE', count: 2, total: { value: 108.75, currency: 'EUR' } },
        { type: 'REFUND', count: 1, total: { value: 8.75, currency: 'EUR' } },
      ]),
    );
    expect(eur.per_brand).toEqual(expect.arrayContaining([{ brand: 'MASTERCARD', count: 1, net_total: { value: 10, currency: 'EUR' } }]));
    expect(eur.open_pre_authorizations).toEqual({ count: 1, total: { value: 50, currency: 'EUR' } });
    expect(body.receipt).toContain('100.00');
    for (const line of body.receipt.split('\n')) expect(line.length).toBeLessThanOrEqual(24);

    const text = await api('GET', `/terminals/${c.terminals[0]!.id}/daytotals/today`, undefined, { accept: 'text/plain' });
    expect(text.statusCode).toBe(200);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toBe(body.receipt);
    expect((await api('GET', `/terminals/${c.terminals[0]!.id}/daytotals/today`, undefined, { accept: 'image/png' })).statusCode).toBe(406);
  });

  it('takes "today" in the store’s time zone', async () => {
    const clock = ctx().clock!;
    // 23:30 on 10 March in Auckland is 10:30 UTC.
    clock.ms = Date.parse('2026-03-10T10:30:00Z');
    const c = await onboard(ctx().app, { timezone: 'Pacific/Auckland', currency: 'NZD' });
    await pay(ctx().app, c, purchase(5, 'late', 'NZD'));
    const api = merchantApi(ctx().app, c.apiKey);
    const url = `/terminals/${c.terminals[0]!.id}/daytotals/today`;
    expect((await api('GET', url)).json()).toMatchObject({ date: '2026-03-10', currencies: [{ currency: 'NZD', net_total: { value: 5, currency: 'NZD' } }] });
    // An hour later it is the 11th there: a new day with nothing in it.
    clock.advance(60 * 60 * 1000);
    expect((await api('GET', url)).json()).toMatchObject({ date: '2026-03-11', currencies: [{ currency: 'NZD', count: 0, net_total: { value: 0, currency: 'NZD' } }] });
  });

  it('counts a pre-authorization captured on a later day on the day of its capture', async () => {
    const clock = ctx().clock!;
    clock.ms = Date.parse('2026-04-01T10:00:00Z');
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const url = `/terminals/${c.terminals[0]!.id}/daytotals/today`;
    const held = (await pay(ctx().app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: 'hotel', amount: { value: 120, currency: 'EUR' } })).created.json().id;
    expect((await api('GET', url)).json().currencies[0]).toMatchObject({ count: 0, open_pre_authorizations: { count: 1 } });
    clock.advance(2 * 24 * 60 * 60 * 1000);
    expect((await api('POST', `/terminals/${c.terminals[0]!.id}/transactions/${held}/capture`, { amount: { value: 95.5, currency: 'EUR' } })).statusCode).toBe(200);
    const captureDay = (await api('GET', url)).json();
    expect(captureDay).toMatchObject({ date: '2026-04-03' });
    expect(captureDay.currencies[0]).toMatchObject({ count: 1, net_total: { value: 95.5, currency: 'EUR' }, open_pre_authorizations: { count: 0 } });
    // The day it was authorized no longer shows it: it was open then, and is not open now.
    clock.ms = Date.parse('2026-04-01T18:00:00Z');
    expect((await api('GET', url)).json().currencies[0]).toMatchObject({ count: 0, net_total: { value: 0, currency: 'EUR' } });
  });
});
