import { expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, pay, purchase } from '../support/terminal.js';

const ROUNDS = 25;

/** Holds one side back by a random few milliseconds, alternating sides, so both orders happen. */
const jitter = (round: number, side: 0 | 1) => new Promise((r) => setTimeout(r, round % 2 === side ? Math.random() * 8 : 0));
const late = <T>(round: number, side: 0 | 1, run: () => Promise<T>) => jitter(round, side).then(run);

/** Each rule fires both sides at once, many times, and checks that exactly one outcome happened. */
describeEachStore('races', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true });
  const openCount = async (terminalId: string) => {
    const rows = await ctx()
      .db.store.db.selectFrom('transactions')
      .innerJoin('terminals', 'terminals.id', 'transactions.terminal_id')
      .where('terminals.terminal_key', '=', terminalId.toLowerCase())
      .where('transactions.stage', '<>', 'DONE')
      .select('transactions.id')
      .execute();
    return rows.length;
  };

  it('a new payment against the terminal fetching the pending one: superseded or refused, never both', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    const t = c.terminals[0]!.id;
    const seen = { superseded: 0, refused: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const a = (await api('POST', `/terminals/${t}/transactions`, purchase(1, `a${i}`))).json().id;
      const [b, fetched] = await Promise.all([late(i, 0, () => api('POST', `/terminals/${t}/transactions`, purchase(2, `b${i}`))), late(i, 1, () => device.next())]);
      const aNow = (await api('GET', `/terminals/${t}/transactions/${a}`)).json();
      if (b.statusCode === 201) {
        // A was not fetched: it is superseded, and the terminal got B or nothing yet.
        seen.superseded++;
        expect(aNow).toMatchObject({ status: 'CANCELLED', cancel_reason: 'SUPERSEDED' });
        if (fetched.statusCode === 200) expect(fetched.json().id).toBe(b.json().id);
        await api('DELETE', `/terminals/${t}/transactions/${b.json().id}`);
      } else {
        seen.refused++;
        expect(b.statusCode).toBe(409);
        expect(b.json().detail).toContain(a);
        expect(fetched.json().id).toBe(a);
        expect(aNow.status).toBe('CREATED');
        await api('DELETE', `/terminals/${t}/transactions/${a}`);
      }
      expect(await openCount(t)).toBe(0);
    }
    expect(seen.superseded + seen.refused).toBe(ROUNDS);
    // Both endings really happened, so both branches above were checked.
    expect(seen.superseded).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('several payments at once for one terminal leave exactly one open', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!.id;
    for (let i = 0; i < ROUNDS / 5; i++) {
      const results = await Promise.all(Array.from({ length: 5 }, (_, k) => api('POST', `/terminals/${t}/transactions`, purchase(k + 1, `p${i}-${k}`))));
      // Nothing was fetched, so each one supersedes the one before: all are accepted.
      expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201]);
      expect(await openCount(t)).toBe(1);
      const open = await api('GET', `/terminals/${t}/transactions?status=CREATED`);
      expect(open.json()).toHaveLength(1);
      const superseded = (await api('GET', `/terminals/${t}/transactions?status=CANCELLED&size=100`)).json();
      expect(superseded.filter((x: { merchant_order_reference: string }) => x.merchant_order_reference.startsWith(`p${i}-`))).toHaveLength(4);
    }
  });

  it('cancel against card presented: exactly one wins, never both', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    const t = c.terminals[0]!.id;
    const wins = { cancel: 0, card: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const id = (await api('POST', `/terminals/${t}/transactions`, purchase(1, `c${i}`))).json().id;
      await device.next();
      const [del, card] = await Promise.all([late(i, 0, () => api('DELETE', `/terminals/${t}/transactions/${id}`)), late(i, 1, () => device.card(id))]);
      const final = (await api('GET', `/terminals/${t}/transactions/${id}`)).json();
      if (del.statusCode === 204) {
        wins.cancel++;
        expect(card.statusCode).toBe(409);
        expect(final).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });
        expect(final.result).toBeUndefined();
      } else {
        wins.card++;
        expect(del.statusCode).toBe(409);
        expect(card.statusCode).toBe(200);
        expect(final).toMatchObject({ status: 'CLEARED', result: 'APPROVED' });
      }
    }
    expect(wins.cancel + wins.card).toBe(ROUNDS);
    expect(wins.cancel).toBeGreaterThan(0);
    expect(wins.card).toBeGreaterThan(0);
  });

  it('two refunds that together exceed the purchase: exactly one is accepted', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const api = merchantApi(ctx().app, c.apiKey);
    for (let i = 0; i < ROUNDS / 5; i++) {
      const purchaseId = (await pay(ctx().app, c, purchase(10, `r${i}`))).created.json().id;
      const refund = { type: 'REFUND', merchant_order_reference: `r${i}-r`, amount: { value: 6, currency: 'EUR' }, reference: { id: purchaseId } };
      const [a, b] = await Promise.all(c.terminals.map((t) => api('POST', `/terminals/${t.id}/transactions`, refund)));
      expect([a!.statusCode, b!.statusCode].sort()).toEqual([201, 422]);
      for (const r of [a!, b!]) if (r.statusCode === 201) await api('DELETE', String(r.headers.location));
    }
  });

  it('expiry against the terminal fetching: expired or fetched, never both', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    const t = c.terminals[0]!.id;
    for (let i = 0; i < ROUNDS; i++) {
      const id = (await api('POST', `/terminals/${t}/transactions`, purchase(1, `e${i}`))).json().id;
      ctx().clock!.advance(ctx().config.TRANSACTION_EXPIRY_MS);
      const [, fetched] = await Promise.all([late(i, 0, () => ctx().app.platform.transactions.expireDue()), late(i, 1, () => device.next())]);
      const final = (await api('GET', `/terminals/${t}/transactions/${id}`)).json();
      if (fetched.statusCode === 200) {
        expect(final.status).toBe('CREATED');
        await api('DELETE', `/terminals/${t}/transactions/${id}`);
      } else {
        expect(final).toMatchObject({ status: 'CANCELLED', cancel_reason: 'EXPIRED' });
      }
    }
  });

  it('two captures at once: one 200, one 409', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    for (let i = 0; i < ROUNDS / 5; i++) {
      const url = String((await pay(ctx().app, c, { type: 'PRE_AUTHORIZATION', merchant_order_reference: `h${i}`, amount: { value: 50, currency: 'EUR' } })).created.headers.location);
      const [a, b] = await Promise.all([api('POST', `${url}/capture`, { amount: { value: 20, currency: 'EUR' } }), api('POST', `${url}/release`)]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    }
  });

  it('the same Idempotency-Key sent twice at once creates one transaction', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const t = c.terminals[0]!.id;
    for (let i = 0; i < ROUNDS / 5; i++) {
      const send = () => api('POST', `/terminals/${t}/transactions`, purchase(3, `i${i}`), { 'Idempotency-Key': `key-${i}` });
      const [a, b] = await Promise.all([send(), send()]);
      const codes = [a.statusCode, b.statusCode].sort();
      // Either the second saw the first finished (a replay) or still running (409, retry later).
      expect([[201, 201], [201, 409]]).toContainEqual(codes);
      if (codes[1] === 201) expect(a.json().id).toBe(b.json().id);
      const list = (await api('GET', `/terminals/${t}/transactions?merchant_order_reference=i${i}`)).json();
      expect(list).toHaveLength(1);
    }
  });
});
