import { expect, it } from 'vitest';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, purchase } from '../support/terminal.js';

const APPROVED = {
  result: 'APPROVED',
  entry_mode: 'CHIP',
  card: { brand: 'VISA', last4: '1111' },
  authorization_code: '54PQMX',
  acquirer_reference: 'ACQ-REF-77',
  emv: { aid: 'A0000000031010', application_label: 'VISA CREDIT', cvm: 'SIGNATURE' },
};
const DECLINED = { result: 'DECLINED', entry_mode: 'CONTACTLESS', card: { brand: 'MASTERCARD', last4: '4444' }, decline_reason: 'INSUFFICIENT_FUNDS' };
const PAN = '4111111111111111';

/** A terminal whose own payment app authorizes: it reports `presented`, then the outcome. */
describeEachStore('terminal-reported outcomes', (dialect) => {
  const logs: string[] = [];
  const ctx = usePlatform(dialect, { logs });

  async function retrieved(body: unknown = purchase(98.75)) {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!;
    const device = deviceApi(ctx().app, t.deviceToken);
    const created = await api('POST', `/terminals/${t.id}/transactions`, body);
    expect(created.statusCode).toBe(201);
    expect((await device.next()).statusCode).toBe(200);
    const id = created.json().id as string;
    const report = (what: 'presented' | 'outcome', payload: unknown) =>
      ctx().app.inject({ method: 'POST', url: `/device/v1/transactions/${id}/${what}`, headers: { authorization: `Bearer ${t.deviceToken}` }, payload: payload as object });
    return { c, api, t, id, url: `/terminals/${t.id}/transactions/${id}`, report };
  }

  it('puts every reported field on the receipts, assigns the STAN and clears the payment', async () => {
    const { api, url, report } = await retrieved();
    expect((await report('presented', { entry_mode: 'CHIP' })).json()).toMatchObject({ status: 'CREATED' });
    const done = await report('outcome', APPROVED);
    expect(done.statusCode).toBe(200);
    const t = (await api('GET', url)).json();
    expect(t).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA', authorization_code: '54PQMX' });
    expect(t.system_trace_audit_number).toMatch(/^\d{6}$/);
    for (const receipt of [t.receipt, t.merchant_receipt]) {
      for (const text of ['************1111', 'CHIP', '54PQMX', 'A0000000031010', 'VISA CREDIT', 'SIGNATURE VERIFIED', t.system_trace_audit_number, '98.75', 'PAYMENT ACCEPTED']) {
        expect(receipt).toContain(text);
      }
    }
    expect(t.receipt).toContain('CARDHOLDER COPY');
    expect(t.merchant_receipt).toContain('MERCHANT COPY');
    expect(t.merchant_receipt).toContain('CARDHOLDER SIGNATURE');
    expect(t.receipt).not.toContain('CARDHOLDER SIGNATURE');
  });

  it('takes an outcome straight from RETRIEVED; a declined one prints its reason; a pre-authorization ends AUTHORIZED', async () => {
    const declined = await retrieved();
    const d = await declined.report('outcome', DECLINED);
    expect(d.json()).toMatchObject({ status: 'CANCELLED', result: 'DECLINED', brand: 'MASTERCARD' });
    expect(d.json().receipt).toContain('INSUFFICIENT FUNDS');
    expect(d.json().receipt).toContain('************4444');
    const preauth = await retrieved({ ...purchase(50), type: 'PRE_AUTHORIZATION' });
    expect((await preauth.report('outcome', { ...APPROVED, emv: { cvm: 'PIN' } })).json()).toMatchObject({ status: 'AUTHORIZED', result: 'APPROVED' });
    const captured = await preauth.api('POST', `${preauth.url}/capture`, { amount: { value: 20, currency: 'EUR' } });
    expect(captured.json()).toMatchObject({ status: 'CLEARED', captured_amount: { value: 20, currency: 'EUR' } });
  });

  it('answers the same outcome again with the same transaction, and refuses a different one', async () => {
    const { report } = await retrieved();
    const first = await report('outcome', APPROVED);
    const again = await report('outcome', { ...APPROVED, card: { last4: '1111', brand: 'VISA' } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const other = await report('outcome', { ...APPROVED, authorization_code: 'OTHER1' });
    expect(other.statusCode).toBe(409);
    expect(isProblem(other)).toBe(true);
    expect((await report('outcome', DECLINED)).statusCode).toBe(409);
    // `presented` after the outcome changes nothing.
    expect((await report('presented', { entry_mode: 'SWIPE' })).json()).toMatchObject({ status: 'CLEARED' });
  });

  it('refuses an outcome for a cancelled transaction, and one before the terminal fetched it', async () => {
    const { api, url, report } = await retrieved();
    expect((await api('DELETE', url)).statusCode).toBe(204);
    const late = await report('outcome', APPROVED);
    expect(late.statusCode).toBe(409);
    expect(late.json().detail).toMatch(/reverse/);
    expect((await report('presented', { entry_mode: 'CHIP' })).statusCode).toBe(409);

    const c = await onboard(ctx().app);
    const t = c.terminals[0]!;
    const pending = (await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${t.id}/transactions`, purchase(5))).json().id;
    const early = await ctx().app.inject({ method: 'POST', url: `/device/v1/transactions/${pending}/outcome`, headers: { authorization: `Bearer ${t.deviceToken}` }, payload: APPROVED });
    expect(early.statusCode).toBe(409);
  });

  it('validates the outcome: an approval needs its code, a decline reason is for declines', async () => {
    const { report } = await retrieved();
    const { authorization_code: _, ...noCode } = APPROVED;
    expect((await report('outcome', noCode)).statusCode).toBe(400);
    expect((await report('outcome', { ...APPROVED, decline_reason: 'X' })).statusCode).toBe(400);
    expect((await report('outcome', { ...APPROVED, card: { brand: 'VISA', last4: '11111' } })).statusCode).toBe(400);
    expect((await report('presented', { entry_mode: 'NFC' })).statusCode).toBe(400);
  });

  it('refuses printed text that would add lines or reorder them on the receipt; takes any other', async () => {
    const { api, url, report } = await retrieved();
    for (const bad of [
      { ...DECLINED, decline_reason: 'DO NOT HONOUR\nAMOUNT   EUR 0.01' },
      { ...DECLINED, decline_reason: 'X\u001b[2J' },
      { ...APPROVED, emv: { ...APPROVED.emv, application_label: '\u202eVISA' } },
      { ...APPROVED, acquirer_reference: 'A\r\nB' },
    ]) {
      const res = await report('outcome', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(isProblem(res)).toBe(true);
      expect(res.json().errors[0].detail).toBe('must be one line, without control characters or marks that reorder text');
    }
    const declined = await report('outcome', { ...DECLINED, decline_reason: 'KARTE GESPERRT – ÜBERWEISUNG' });
    expect(declined.statusCode, declined.body).toBe(200);
    expect((await api('GET', url)).json().receipt).toContain('KARTE GESPERRT');
  });

  it('refuses anything that looks like a card number, in every field, and never logs it', async () => {
    const { report, api, url } = await retrieved();
    logs.length = 0;
    const bodies: Array<['presented' | 'outcome', unknown]> = [
      ['presented', { entry_mode: PAN }],
      ['presented', { entry_mode: 'CHIP', card: PAN }],
      ['outcome', { ...APPROVED, result: PAN }],
      ['outcome', { ...APPROVED, entry_mode: `card ${PAN}` }],
      ['outcome', { ...APPROVED, card: { brand: PAN, last4: '1111' } }],
      ['outcome', { ...APPROVED, card: { brand: 'VISA', last4: PAN } }],
      ['outcome', { ...APPROVED, card: { brand: 'VISA', last4: '1111', number: PAN } }],
      ['outcome', { ...APPROVED, authorization_code: PAN }],
      ['outcome', { ...APPROVED, acquirer_reference: `ref-${PAN}` }],
      ['outcome', { ...APPROVED, emv: { application_label: PAN } }],
      ['outcome', { ...APPROVED, emv: { cvm: PAN } }],
      ['outcome', { ...DECLINED, decline_reason: `PAN ${PAN} refused` }],
      ['outcome', { ...APPROVED, pan: '378282246310005' }],
      ['outcome', { ...APPROVED, [PAN]: 'x' }],
    ];
    for (const [what, body] of bodies) {
      const res = await report(what, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(isProblem(res)).toBe(true);
      expect(res.body).not.toContain(PAN);
      expect(res.body).not.toContain('378282246310005');
    }
    expect((await api('GET', url)).json().status).toBe('CREATED');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(PAN);
    expect(logs.join('\n')).not.toContain('378282246310005');
  });

  it('presented and DELETE race on one compare-and-set: exactly one wins, both happen', async () => {
    const seen = { presented: 0, cancelled: 0 };
    for (let i = 0; i < 25; i++) {
      const { api, url, report } = await retrieved(purchase(1, `race-${i}`));
      const jitter = (side: number) => new Promise((r) => setTimeout(r, i % 2 === side ? Math.random() * 6 : 0));
      const [presented, deleted] = await Promise.all([jitter(0).then(() => report('presented', { entry_mode: 'CONTACTLESS' })), jitter(1).then(() => api('DELETE', url))]);
      if (presented.statusCode === 200) {
        seen.presented++;
        expect(deleted.statusCode).toBe(409);
        expect((await report('outcome', APPROVED)).json()).toMatchObject({ status: 'CLEARED' });
      } else {
        seen.cancelled++;
        expect(presented.statusCode).toBe(409);
        expect(deleted.statusCode).toBe(204);
        expect((await api('GET', url)).json()).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });
      }
    }
    expect(seen.presented).toBeGreaterThan(0);
    expect(seen.cancelled).toBeGreaterThan(0);
  });
});
