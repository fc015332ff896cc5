import { describe, expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { APPROVE, DECLINE, deviceApi, pay, purchase } from '../support/terminal.js';

const TIMEOUT_CARD = '4000000000000119';
const INSUFFICIENT = '4000000000009995';

describeEachStore('transaction life cycle', (dialect) => {
  const logs: string[] = [];
  const ctx = usePlatform(dialect, { env: { ACQUIRER_TIMEOUT_MS: '300', SANDBOX_SLOW_MS: '50' }, logs });
  const events = (id: string) => ctx().app.platform.transactions.events(id);

  it('approves: CREATED → RETRIEVED → CARD_PRESENTED → CLEARED/APPROVED, every step an event', async () => {
    const c = await onboard(ctx().app);
    const { created, finished } = await pay(ctx().app, c, purchase(98.75));
    expect(finished.json()).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA', authorization_code: expect.stringMatching(/^[A-Z0-9]{6}$/) });
    const log = await events(created.json().id);
    expect(log.map((e) => [e.event, e.actor, e.from_stage, e.to_status, e.to_stage])).toEqual([
      ['CREATE', 'CUSTOMER', null, 'CREATED', 'PENDING'],
      ['RETRIEVE', 'TERMINAL', 'PENDING', 'CREATED', 'RETRIEVED'],
      ['PRESENT_CARD', 'TERMINAL', 'RETRIEVED', 'CREATED', 'CARD_PRESENTED'],
      ['APPROVE', 'ACQUIRER', 'CARD_PRESENTED', 'CLEARED', 'DONE'],
    ]);
  });

  it('a superseded payment records who took its place; the new one its creation', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!.id;
    const first = (await api('POST', `/terminals/${t}/transactions`, purchase(1, 'first'))).json().id;
    const second = (await api('POST', `/terminals/${t}/transactions`, purchase(2, 'second'))).json().id;
    expect((await events(first)).map((e) => [e.event, e.actor, e.from_stage, e.to_status, e.to_stage, e.detail])).toEqual([
      ['CREATE', 'CUSTOMER', null, 'CREATED', 'PENDING', null],
      ['SUPERSEDE', 'SYSTEM', 'PENDING', 'CANCELLED', 'DONE', `superseded by ${second}`],
    ]);
    expect((await events(second)).map((e) => e.event)).toEqual(['CREATE']);
    expect((await api('GET', `/terminals/${t}/transactions/${first}`)).json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'SUPERSEDED' });
    // the customer's events (the outbox), written in the same commits
    const outbox = (await api('GET', '/events?size=100')).json() as Array<{ type: string; sequence: number; data: { id: string; status: string; cancel_reason?: string } }>;
    const of = (id: string) => outbox.filter((e) => e.data.id === id).map((e) => [e.type, e.sequence, e.data.status, e.data.cancel_reason]).reverse();
    expect(of(first)).toEqual([
      ['transaction.created', 1, 'CREATED', undefined],
      ['transaction.cancelled', 2, 'CANCELLED', 'SUPERSEDED'],
    ]);
    expect(of(second)).toEqual([['transaction.created', 1, 'CREATED', undefined]]);
    await api('DELETE', `/terminals/${t}/transactions/${second}`);
  });

  it('declines: CANCELLED/DECLINED with a receipt that says so', async () => {
    const c = await onboard(ctx().app);
    for (const card of [DECLINE, INSUFFICIENT]) {
      const { finished } = await pay(ctx().app, c, purchase(5), card);
      expect(finished.json()).toMatchObject({ status: 'CANCELLED', result: 'DECLINED' });
      expect(finished.json().cancel_reason).toBeUndefined();
      expect(finished.json().receipt).toContain('PAYMENT DECLINED');
    }
  });

  it('ends an acquirer timeout CANCELLED without a result, and frees the terminal', async () => {
    const c = await onboard(ctx().app);
    const { finished } = await pay(ctx().app, c, purchase(5), TIMEOUT_CARD);
    expect(finished.json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'ACQUIRER_UNAVAILABLE' });
    expect(finished.json().result).toBeUndefined();
    const again = await pay(ctx().app, c, purchase(6));
    expect(again.finished.json().status).toBe('CLEARED');
  });

  it('knows the brands of the sandbox cards', async () => {
    const c = await onboard(ctx().app);
    const brands: Record<string, string> = { '5555555555554444': 'MASTERCARD', '378282246310005': 'AMEX', '6759649826438453': 'MAESTRO', '4013250000000000006': 'V_PAY', '5105105105105100': 'MASTERCARD' };
    for (const [card, brand] of Object.entries(brands)) {
      const { finished } = await pay(ctx().app, c, purchase(3), card);
      expect(finished.json(), card).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand });
    }
  });

  it('never stores or logs a full card number; the receipt shows the last four', async () => {
    const c = await onboard(ctx().app);
    const { finished } = await pay(ctx().app, c, purchase(12.5), '5555555555554444');
    expect(finished.json().receipt).toContain('4444');
    expect(finished.json().receipt).not.toContain('5555555555554444');
    const db = ctx().db.store.db;
    const dump = JSON.stringify([await db.selectFrom('transactions').selectAll().execute(), await db.selectFrom('transaction_events').selectAll().execute(), await db.selectFrom('idempotency_keys').selectAll().execute()]);
    expect(dump).toContain('4444');
    expect(dump).not.toMatch(/5555555555554444|555555555555/);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toMatch(/5555555555554444|4111111111111111/);
    expect(logs.join('\n')).not.toContain(c.apiKey);
    expect(logs.join('\n')).not.toContain(c.terminals[0]!.deviceToken);
  });

  it('refunds a purchase by reference up to its amount, and unreferenced', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const purchaseId = (await pay(ctx().app, c, purchase(98.75))).created.json().id;
    const refund = (value: number) => ({ type: 'REFUND', merchant_order_reference: 'invoice-202112280004-r', amount: { value, currency: 'EUR' }, reference: { id: purchaseId } });
    const first = await pay(ctx().app, c, refund(50));
    expect(first.finished.json()).toMatchObject({ type: 'REFUND', status: 'CLEARED', result: 'APPROVED', reference: { id: purchaseId } });
    expect(first.finished.json().receipt).toContain('REFUND ACCEPTED');
    const tooMuch = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, refund(48.76));
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json().detail).toMatch(/4875 of 9875/);
    // A declined refund does not use up the purchase.
    await pay(ctx().app, c, refund(48.75), DECLINE);
    expect((await pay(ctx().app, c, refund(48.75))).finished.json().status).toBe('CLEARED');
    expect((await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, refund(0.01))).statusCode).toBe(422);
    // Unreferenced.
    const loose = await pay(ctx().app, c, { type: 'REFUND', merchant_order_reference: 'invoice-202112280004-r', amount: { value: 98.75, currency: 'EUR' } });
    expect(loose.finished.json()).toMatchObject({ type: 'REFUND', status: 'CLEARED' });
    expect(loose.finished.json().reference).toBeUndefined();
  });

  it('counts an in-flight refund against the purchase, and frees it when cancelled', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const api = merchantApi(ctx().app, c.apiKey);
    const purchaseId = (await pay(ctx().app, c, purchase(10))).created.json().id;
    const refund = { type: 'REFUND', merchant_order_reference: 'r', amount: { value: 10, currency: 'EUR' }, reference: { id: purchaseId } };
    const pending = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, refund);
    expect(pending.statusCode).toBe(201);
    expect((await api('POST', `/terminals/${c.terminals[1]!.id}/transactions`, refund)).statusCode).toBe(422);
    expect((await api('DELETE', String(pending.headers.location))).statusCode).toBe(204);
    expect((await api('POST', `/terminals/${c.terminals[1]!.id}/transactions`, refund)).statusCode).toBe(201);
  });

  it('pre-authorizes, then captures once for at most the authorized amount', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const { created, finished } = await pay(ctx().app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: 'hotel-1', amount: { value: 200, currency: 'EUR' } });
    expect(finished.json()).toMatchObject({ type: 'PRE_AUTHORIZATION', status: 'AUTHORIZED', result: 'APPROVED' });
    expect(finished.json().receipt).toContain('AUTHORIZATION ACCEPTED');
    const url = String(created.headers.location);
    // Not a refundable purchase while only authorized.
    const early = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, { type: 'REFUND', merchant_order_reference: 'r', amount: { value: 1, currency: 'EUR' }, reference: { id: created.json().id } });
    expect(early.statusCode).toBe(422);
    expect((await api('POST', `${url}/capture`, { amount: { value: 200.01, currency: 'EUR' } })).statusCode).toBe(422);
    expect((await api('POST', `${url}/capture`, { amount: { value: 150, currency: 'USD' } })).statusCode).toBe(422);
    const captured = await api('POST', `${url}/capture`, { amount: { value: 150, currency: 'EUR' } });
    expect(captured.statusCode).toBe(200);
    expect(captured.json()).toMatchObject({ status: 'CLEARED', result: 'APPROVED', captured_amount: { value: 150, currency: 'EUR' } });
    expect((await api('POST', `${url}/capture`, {})).statusCode).toBe(409);
    expect((await api('POST', `${url}/release`)).statusCode).toBe(409);
    // A captured pre-authorization is refundable up to what was captured.
    const refund = (value: number) => ({ type: 'REFUND', merchant_order_reference: 'r', amount: { value, currency: 'EUR' }, reference: { id: created.json().id } });
    expect((await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, refund(150.01))).statusCode).toBe(422);
    expect((await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, refund(150))).statusCode).toBe(201);
  });

  it('captures everything without an amount, releases once, and refuses both on a purchase', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const preAuth = (ref: string) => ({ type: 'PRE_AUTHORIZATION', merchant_order_reference: ref, amount: { value: 80, currency: 'EUR' } });
    const a = String((await pay(ctx().app, c, preAuth('a'))).created.headers.location);
    const all = await api('POST', `${a}/capture`);
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().captured_amount).toEqual({ value: 80, currency: 'EUR' });
    const b = String((await pay(ctx().app, c, preAuth('b'))).created.headers.location);
    const released = await api('POST', `${b}/release`);
    expect(released.json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'RELEASED', result: 'APPROVED' });
    expect((await api('POST', `${b}/release`)).statusCode).toBe(409);
    expect((await api('POST', `${b}/capture`)).statusCode).toBe(409);
    const p = String((await pay(ctx().app, c, purchase(1))).created.headers.location);
    expect((await api('POST', `${p}/capture`)).statusCode).toBe(409);
    expect((await api('POST', `${p}/release`)).statusCode).toBe(409);
  });

  describe('cancel', () => {
    it('is 204 while pending or retrieved, 409 once a card is presented', async () => {
      const c = await onboard(ctx().app);
      const api = merchantApi(ctx().app, c.apiKey);
      const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
      const t = c.terminals[0]!.id;
      const pending = await api('POST', `/terminals/${t}/transactions`, purchase(1));
      expect((await api('DELETE', String(pending.headers.location))).statusCode).toBe(204);
      expect((await api('GET', String(pending.headers.location))).json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });
      // A retried DELETE is still a success.
      expect((await api('DELETE', String(pending.headers.location))).statusCode).toBe(204);

      const retrieved = await api('POST', `/terminals/${t}/transactions`, purchase(2));
      expect((await device.next()).json().id).toBe(retrieved.json().id);
      expect((await api('DELETE', String(retrieved.headers.location))).statusCode).toBe(204);
      // The terminal learns it at its next request and leaves the screen.
      expect((await device.next()).statusCode).toBe(204);
      expect((await device.get(retrieved.json().id)).json().status).toBe('CANCELLED');
      const late = await device.card(retrieved.json().id);
      expect(late.statusCode).toBe(409);
      expect(late.json().detail).toMatch(/CANCELLED_BY_CUSTOMER/);

      const paid = await pay(ctx().app, c, purchase(3));
      const refused = await api('DELETE', String(paid.created.headers.location));
      expect(refused.statusCode).toBe(409);
      expect(refused.json().detail).toMatch(/card has been presented/);
    });

    it('on the terminal ends CANCELLED_ON_TERMINAL', async () => {
      const c = await onboard(ctx().app);
      const api = merchantApi(ctx().app, c.apiKey);
      const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
      const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
      await device.next();
      const res = await device.cancel(created.json().id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_ON_TERMINAL' });
      expect((await device.card(created.json().id)).statusCode).toBe(409);
    });
  });

  it('answers the same outcome when the terminal reports the card twice', async () => {
    const c = await onboard(ctx().app);
    const { created, finished } = await pay(ctx().app, c, purchase(7));
    const again = await deviceApi(ctx().app, c.terminals[0]!.deviceToken).card(created.json().id);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(finished.json());
    expect((await events(created.json().id)).filter((e) => e.event === 'APPROVE')).toHaveLength(1);
  });

  it('refuses an invalid card without touching the transaction', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
    await device.next();
    expect((await device.card(created.json().id, '4111111111111112')).statusCode).toBe(422);
    expect((await device.card(created.json().id, '41111111abcd')).statusCode).toBe(400);
    expect((await device.card(created.json().id, APPROVE)).json().status).toBe('CLEARED');
  });
});

describeEachStore('expiry', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true, env: { TRANSACTION_EXPIRY_MS: '60000' } });

  it('expires a transaction no terminal fetched in time', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
    ctx().clock!.advance(59_000);
    expect((await api('GET', String(created.headers.location))).json().status).toBe('CREATED');
    ctx().clock!.advance(1_000);
    expect(await ctx().app.platform.transactions.expireDue()).toBe(1);
    expect((await api('GET', String(created.headers.location))).json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'EXPIRED' });
    expect((await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next()).statusCode).toBe(204);
  });

  it('never hands an expired transaction to a terminal, even before the sweep', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
    ctx().clock!.advance(60_001);
    expect((await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next()).statusCode).toBe(204);
    expect((await api('GET', String(created.headers.location))).json().cancel_reason).toBe('EXPIRED');
  });

  it('keeps a fetched transaction past the expiry time', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const created = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
    await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next();
    ctx().clock!.advance(120_000);
    await ctx().app.platform.transactions.expireDue();
    expect((await api('GET', String(created.headers.location))).json().status).toBe('CREATED');
  });
});
