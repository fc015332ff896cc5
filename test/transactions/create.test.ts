import { describe, expect, it } from 'vitest';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform, type OnboardedCustomer } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { DECLINE, deviceApi, pay, purchase } from '../support/terminal.js';

describeEachStore('creating and reading transactions', (dialect) => {
  const ctx = usePlatform(dialect);
  const rows = async () => Number((await ctx().db.store.db.selectFrom('transactions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('creates the guide’s purchase: 201, Location, the small set of fields', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const res = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(98.75));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['amount', 'creation_datetime', 'id', 'merchant_order_reference', 'status', 'type']);
    expect(body).toMatchObject({ type: 'PURCHASE', merchant_order_reference: 'inv2112280004', amount: { value: 98.75, currency: 'EUR' }, status: 'CREATED' });
    expect(body.id).toMatch(/^[1-9][0-9]{30}$/);
    expect(body.creation_datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(res.headers.location).toBe(`/terminals/${c.terminals[0]!.id}/transactions/${body.id}`);
    // GET answers the same data at first.
    const got = await api('GET', String(res.headers.location));
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(body);
  });

  it('matches terminal ids case-insensitively and answers with the stored casing', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const id = c.terminals[0]!.id;
    const res = await api('POST', `/terminals/${id.toLowerCase()}/transactions`, purchase(1));
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toContain(`/terminals/${id}/`);
    expect((await api('GET', `/terminals/${id.toUpperCase()}/transactions/${res.json().id}`)).statusCode).toBe(200);
  });

  it('finds a terminal registered after a creation named it in vain (only terminals found are remembered), and never another customer\'s', async () => {
    const c = await onboard(ctx().app);
    const other = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const id = 'SUNMI-P2lite-LATER' + process.pid;
    expect((await api('POST', `/terminals/${id}/transactions`, purchase(1))).statusCode).toBe(404);
    const registered = await ctx().app.platform.onboarding.registerTerminal({ storeUuid: c.stores[0]!, manufacturer: 'SUNMI', model: 'P2lite', serial: `LATER${process.pid}` });
    expect(registered.ok).toBe(true);
    expect((await api('POST', `/terminals/${id}/transactions`, purchase(1))).statusCode).toBe(201);
    // remembered for this customer only
    expect((await merchantApi(ctx().app, other.apiKey)('POST', `/terminals/${id}/transactions`, purchase(1))).statusCode).toBe(404);
  });

  it('pushed to many terminals at once (their lookups asked of the store together), finds each one, and never another customer\'s', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 12 });
    const other = await onboard(ctx().app, { terminalsPerStore: 3 });
    const api = merchantApi(ctx().app, c.apiKey);
    const named = [...c.terminals.map((t) => ({ id: t.id, mine: true })), ...other.terminals.map((t) => ({ id: t.id, mine: false }))];
    const answers = await Promise.all(named.map((t) => api('POST', `/terminals/${t.id}/transactions`, purchase(1))));
    expect(answers.map((r) => r.statusCode)).toEqual(named.map((t) => (t.mine ? 201 : 404)));
    for (const [i, r] of answers.entries()) if (named[i]!.mine) expect(r.headers.location).toContain(`/terminals/${named[i]!.id}/`);
  });

  it('pushed to many terminals at once, and twice to one (on PostgreSQL written together), writes each with its history and its event, the second to one terminal superseding the first', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 12 });
    const api = merchantApi(ctx().app, c.apiKey);
    const targets = [...c.terminals, c.terminals[0]!];
    const answers = await Promise.all(targets.map((t, i) => api('POST', `/terminals/${t.id}/transactions`, { ...purchase(1), merchant_order_reference: `together-${i}` })));
    expect(answers.map((r) => r.statusCode)).toEqual(targets.map(() => 201));
    const ids = answers.map((r) => r.json().id as string);
    const store = ctx().db.store.db;
    const stored = await store.selectFrom('transactions').select(['id', 'status', 'cancel_reason']).where('id', 'in', ids).execute();
    const byId = new Map(stored.map((r) => [r.id, r]));
    // The first terminal's two: whichever was asked second supersedes the other.
    const twice = [ids[0]!, ids.at(-1)!].map((id) => byId.get(id)!);
    expect(twice.map((r) => r.status).sort()).toEqual(['CANCELLED', 'CREATED']);
    expect(twice.find((r) => r.status === 'CANCELLED')!.cancel_reason).toBe('SUPERSEDED');
    expect(ids.slice(1, -1).map((id) => byId.get(id)!.status)).toEqual(ids.slice(1, -1).map(() => 'CREATED'));
    const history = await store.selectFrom('transaction_events').select(['transaction_id', 'event']).where('transaction_id', 'in', ids).where('event', '=', 'CREATE').execute();
    expect(history.map((h) => h.transaction_id).sort()).toEqual([...ids].sort());
    const events = await store.selectFrom('events').select(['subject', 'type', 'sequence']).where('subject', 'in', ids.map((id) => `transaction:${id}`)).where('type', '=', 'transaction.created').execute();
    expect(events.map((e) => [e.subject, e.sequence]).sort()).toEqual(ids.map((id) => [`transaction:${id}`, 1]).sort());
  });

  it('reads the value back exactly as sent, for 0, 2 and 3 decimal currencies', async () => {
    for (const [currency, value] of [['JPY', 1250], ['EUR', 0.29], ['EUR', 123456.78], ['KWD', 12.345]] as const) {
      const c = await onboard(ctx().app, { currency });
      const api = merchantApi(ctx().app, c.apiKey);
      const res = await api('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(value, 'x', currency));
      expect(res.statusCode, res.body).toBe(201);
      expect((await api('GET', String(res.headers.location))).json().amount).toEqual({ value, currency });
    }
  });

  describe('refuses bad input with a problem and stores nothing', () => {
    let c: OnboardedCustomer;
    let declinedId: string;
    let foreignId: string;
    const cases: Array<[string, () => unknown, number, RegExp?]> = [
      ['a non-number amount', () => ({ ...purchase(1), amount: { value: '98.75', currency: 'EUR' } }), 400, /amount\/value/],
      ['a negative amount', () => purchase(-1), 400, /positive|greater than zero|negative/i],
      ['a zero amount', () => purchase(0), 400, /positive|greater than zero|zero/i],
      ['too many decimals for EUR', () => purchase(98.755), 400, /2 decimals/],
      ['decimals for JPY', () => purchase(1.5, 'x', 'JPY'), 400, /JPY/],
      ['an unknown currency', () => purchase(1, 'x', 'EUX'), 400, /EUX/],
      ['a lower-case currency', () => purchase(1, 'x', 'eur'), 400],
      ['a currency the terminal does not accept', () => purchase(1, 'x', 'USD'), 422, /accepts EUR/],
      ['an amount over the limit', () => purchase(1e7), 400],
      ['an unknown type', () => ({ ...purchase(1), type: 'PAYOUT' }), 400, /\/type/],
      ['a missing merchant_order_reference', () => ({ type: 'PURCHASE', amount: { value: 1, currency: 'EUR' } }), 400, /merchant_order_reference/],
      ['an unknown member', () => ({ ...purchase(1), tip: 1 }), 400, /tip/],
      ['a reference without id', () => ({ ...purchase(1), type: 'REFUND', reference: {} }), 400, /reference\/id/],
      ['a reference to nothing', () => ({ ...purchase(1), type: 'REFUND', reference: { id: '1234' } }), 422, /no purchase/],
      ['a refund of a declined purchase', () => ({ ...purchase(1), type: 'REFUND', reference: { id: declinedId } }), 422, /approved/],
      ['a refund of another customer’s purchase', () => ({ ...purchase(1), type: 'REFUND', reference: { id: foreignId } }), 422, /no purchase/],
      ['a purchase with a reference', () => ({ ...purchase(1), reference: { id: declinedId } }), 422, /Only a REFUND/],
    ];

    it('prepares a declined and a foreign purchase', async () => {
      c = await onboard(ctx().app);
      const other = await onboard(ctx().app);
      declinedId = (await pay(ctx().app, c, purchase(10), DECLINE)).created.json().id;
      foreignId = (await pay(ctx().app, other, purchase(10))).created.json().id;
    });

    for (const [name, body, status, detail] of cases) {
      it(`${name} → ${status}`, async () => {
        const before = await rows();
        const res = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, body());
        expect(res.statusCode, res.body).toBe(status);
        expect(isProblem(res)).toBe(true);
        expect(res.json()).toMatchObject({ status, title: expect.any(String), detail: expect.any(String), instance: `/terminals/${c.terminals[0]!.id}/transactions` });
        if (detail) expect(res.body).toMatch(detail);
        expect(await rows()).toBe(before);
      });
    }
  });

  it('answers 404 for an unknown terminal and for another customer’s terminal and transaction', async () => {
    const a = await onboard(ctx().app);
    const b = await onboard(ctx().app);
    const api = merchantApi(ctx().app, a.apiKey);
    expect((await api('POST', '/terminals/SUNMI-P2lite-NOPE/transactions', purchase(1))).statusCode).toBe(404);
    expect((await api('POST', '/terminals/not-a-terminal-id-/transactions', purchase(1))).statusCode).toBe(404);
    expect((await api('POST', `/terminals/${b.terminals[0]!.id}/transactions`, purchase(1))).statusCode).toBe(404);
    const bTx = (await merchantApi(ctx().app, b.apiKey)('POST', `/terminals/${b.terminals[0]!.id}/transactions`, purchase(1))).json().id;
    expect((await api('GET', `/terminals/${b.terminals[0]!.id}/transactions/${bTx}`)).statusCode).toBe(404);
    expect((await api('GET', `/terminals/${a.terminals[0]!.id}/transactions/${bTx}`)).statusCode).toBe(404);
    expect((await api('GET', `/terminals/${a.terminals[0]!.id}/transactions/abc`)).statusCode).toBe(404);
  });

  it('reads a status alike through any spelling of the terminal id, and a remembered one never for another terminal or customer', async () => {
    const a = await onboard(ctx().app, { terminalsPerStore: 2 });
    const b = await onboard(ctx().app);
    const api = merchantApi(ctx().app, a.apiKey);
    const [mine, sibling] = [a.terminals[0]!.id, a.terminals[1]!.id];
    const id = (await api('POST', `/terminals/${mine}/transactions`, purchase(1))).json().id;
    const first = await api('GET', `/terminals/${mine}/transactions/${id}`);
    expect(first.statusCode).toBe(200);
    // Read again (remembered now), then through other spellings: the same answer each time.
    for (const spelling of [mine, mine.toLowerCase(), mine.toUpperCase(), mine]) {
      const res = await api('GET', `/terminals/${spelling}/transactions/${id}`);
      expect(res.statusCode, spelling).toBe(200);
      expect(res.body).toBe(first.body);
    }
    // Remembered for `mine`: another terminal of the customer, and another customer, find nothing.
    expect((await api('GET', `/terminals/${sibling}/transactions/${id}`)).statusCode).toBe(404);
    for (const spelling of [mine, mine.toLowerCase()]) {
      expect((await merchantApi(ctx().app, b.apiKey)('GET', `/terminals/${spelling}/transactions/${id}`)).statusCode).toBe(404);
    }
    // A change shows through every spelling at once.
    expect((await api('DELETE', `/terminals/${mine}/transactions/${id}`)).statusCode).toBe(204);
    for (const spelling of [mine, mine.toLowerCase()]) {
      expect((await api('GET', `/terminals/${spelling}/transactions/${id}`)).json().status).toBe('CANCELLED');
    }
  });

  it('lists a terminal’s transactions newest first, paginated and filtered', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const terminal = c.terminals[0]!.id;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = i % 3 === 0 ? await pay(ctx().app, c, purchase(i + 1, `ref-${i}`)) : { created: await api('POST', `/terminals/${terminal}/transactions`, purchase(i + 1, `ref-${i}`)) };
      ids.push(res.created.json().id);
      await new Promise((r) => setTimeout(r, 2));
    }
    const first = await api('GET', `/terminals/${terminal}/transactions`);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-total-count']).toBe('12');
    expect(first.json().map((t: { id: string }) => t.id)).toEqual([...ids].reverse().slice(0, 10));
    expect(first.headers.link).toContain('rel="next"');
    const second = await api('GET', `/terminals/${terminal}/transactions?page=2`);
    expect(second.json().map((t: { id: string }) => t.id)).toEqual([...ids].reverse().slice(10));

    const byRef = await api('GET', `/terminals/${terminal}/transactions?merchant_order_reference=ref-4`);
    expect(byRef.json().map((t: { id: string }) => t.id)).toEqual([ids[4]]);
    expect(byRef.headers['x-total-count']).toBe('1');
    expect(byRef.headers.link).toBe('');

    const cleared = await api('GET', `/terminals/${terminal}/transactions?status=CLEARED&size=100`);
    expect(cleared.json().map((t: { id: string }) => t.id).sort()).toEqual([ids[0], ids[3], ids[6], ids[9]].sort());
    // Every unfetched one was superseded by the next, but the last.
    const cancelled = await api('GET', `/terminals/${terminal}/transactions?status=CANCELLED&size=100`);
    expect(cancelled.json().every((t: { cancel_reason: string }) => t.cancel_reason === 'SUPERSEDED')).toBe(true);

    const all = first.json().concat(second.json());
    const middle = all[6].creation_datetime;
    const since = await api('GET', `/terminals/${terminal}/transactions?created_from=${encodeURIComponent(middle)}&size=100`);
    expect(since.json().length).toBe(7);
    const before = await api('GET', `/terminals/${terminal}/transactions?created_to=${encodeURIComponent(middle)}&size=100`);
    expect(before.json().length).toBe(5);
    expect((await api('GET', `/terminals/${terminal}/transactions?status=DONE`)).statusCode).toBe(400);
    expect((await api('GET', `/terminals/${terminal}/transactions?created_from=yesterday`)).statusCode).toBe(400);
  });

  it('shows what the guide shows once processed', async () => {
    const c = await onboard(ctx().app);
    const { created, finished } = await pay(ctx().app, c, purchase(98.75));
    expect(finished.statusCode).toBe(200);
    const got = (await merchantApi(ctx().app, c.apiKey)('GET', String(created.headers.location))).json();
    expect(got).toMatchObject({
      merchant_order_reference: 'inv2112280004',
      amount: { value: 98.75, currency: 'EUR' },
      id: created.json().id,
      status: 'CLEARED',
      result: 'APPROVED',
      type: 'PURCHASE',
      brand: 'VISA',
      system_trace_audit_number: expect.stringMatching(/^\d{6}$/),
      transaction_datetime: expect.stringMatching(/Z$/),
      receipt: expect.stringContaining('PAYMENT ACCEPTED'),
      store: { uuid: c.stores[0], name: expect.any(String) },
    });
    expect(got).toEqual(finished.json());
  });

  it('numbers STANs per terminal from 000001', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const stan = async (terminal: number) => (await pay(ctx().app, c, purchase(1), undefined, terminal)).finished.json().system_trace_audit_number;
    expect(await stan(0)).toBe('000001');
    expect(await stan(0)).toBe('000002');
    expect(await stan(1)).toBe('000001');
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    expect((await device.next()).statusCode).toBe(204);
  });
});
