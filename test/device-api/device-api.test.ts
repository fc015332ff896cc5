import { expect, it } from 'vitest';
import type { Transaction } from '../../src/domain/transaction.js';
import { isProblem, merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi, purchase } from '../support/terminal.js';

describeEachStore('device API', (dialect) => {
  const ctx = usePlatform(dialect, { env: { LONG_POLL_MAX_S: '2', POLL_INTERVAL_MS: '1000', AUTH_CACHE_MS: '0' } });

  it('authenticates terminals by device token: 401 missing, 403 invalid', async () => {
    const c = await onboard(ctx().app);
    const missing = await ctx().app.inject({ method: 'GET', url: '/device/v1/config' });
    expect(missing.statusCode).toBe(401);
    expect(isProblem(missing)).toBe(true);
    const wrong = await deviceApi(ctx().app, 'cpos_dev_nope').config();
    expect(wrong.statusCode).toBe(403);
    expect(isProblem(wrong)).toBe(true);
    // An API key is not a device token, and a device token is not an API key.
    expect((await deviceApi(ctx().app, c.apiKey).config()).statusCode).toBe(403);
    expect((await merchantApi(ctx().app, c.terminals[0]!.deviceToken)('GET', '/stores')).statusCode).toBe(403);
  });

  it("answers a fleet's polls made at the same moment (their lookups batched) each with its own terminal's payment or nothing", async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 24 });
    const api = merchantApi(ctx().app, c.apiKey);
    const created = new Map<string, string>();
    for (const [i, t] of c.terminals.entries()) {
      if (i % 2 === 0) created.set(t.id, (await api('POST', `/terminals/${t.id}/transactions`, purchase(i + 1))).json().id);
    }
    const polls = await Promise.all([
      ...c.terminals.map((t) => deviceApi(ctx().app, t.deviceToken).next()),
      ...['cpos_dev_unknown1', 'cpos_dev_unknown2'].map((token) => deviceApi(ctx().app, token).next()),
    ]);
    for (const [i, t] of c.terminals.entries()) {
      const poll = polls[i]!;
      if (created.has(t.id)) {
        expect(poll.statusCode).toBe(200);
        expect(poll.json().id).toBe(created.get(t.id));
      } else expect(poll.statusCode).toBe(204);
    }
    expect(polls.slice(c.terminals.length).map((p) => p.statusCode)).toEqual([403, 403]);
  });

  it('gives the terminal its configuration', async () => {
    const c = await onboard(ctx().app);
    const res = await deviceApi(ctx().app, c.terminals[0]!.deviceToken).config();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      terminal: { id: c.terminals[0]!.id, manufacturer: 'SUNMI', model: 'P2lite' },
      cloud_integration: true,
      poll_interval_ms: 1000,
      long_poll_max_wait_s: 2,
      store: { uuid: c.stores[0], timezone: 'Europe/Amsterdam' },
      receipt_width: 24,
      currencies: ['EUR'],
    });
  });

  it('answers 204 when nothing is pending, and 200 with the transaction, which becomes RETRIEVED', async () => {
    const c = await onboard(ctx().app);
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    expect((await device.next()).statusCode).toBe(204);
    const created = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(4.2));
    const got = await device.next();
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(created.json());
    // Asked again (the answer was lost), the terminal gets the same transaction, not a new one.
    expect((await device.next()).json().id).toBe(created.json().id);
    // …and the customer system can no longer replace it.
    expect((await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1))).statusCode).toBe(409);
  });

  it('wakes a long-polling terminal the moment a transaction is created for it', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const device = deviceApi(ctx().app, c.terminals[0]!.deviceToken);
    const polling = device.next(60);
    await new Promise((r) => setTimeout(r, 200));
    // A payment for another terminal does not wake it.
    await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[1]!.id}/transactions`, purchase(1));
    await new Promise((r) => setTimeout(r, 200));
    const created = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(2));
    const got = await polling;
    // A held poll that runs out answers 204 without looking again: a 200 means it was woken.
    expect(got.statusCode).toBe(200);
    expect(got.json().id).toBe(created.json().id);
  });

  it('hands a held poll the transaction created for it, and takes the store\'s word over a stale one', async () => {
    const { app } = ctx();
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const api = merchantApi(app, c.apiKey);
    let handed: Transaction | undefined;
    const stop = app.platform.notifier.watch((_pk, _id, created) => void (created && (handed = created)));
    const first = await api('POST', `/terminals/${t.id}/transactions`, purchase(1));
    stop();
    expect(handed?.id).toBe(first.json().id);
    expect((await api('DELETE', `/terminals/${t.id}/transactions/${first.json().id as string}`)).statusCode).toBe(204);
    // The cancelled transaction handed again as it was created: the poll's move finds it changed,
    // looks in the store, finds nothing and waits on.
    const device = deviceApi(app, t.deviceToken);
    const polling = device.next(1);
    await new Promise((r) => setTimeout(r, 200));
    app.platform.notifier.notify(handed!.terminal_pk, handed!.id, handed);
    expect((await polling).statusCode).toBe(204);
    expect((await api('GET', `/terminals/${t.id}/transactions/${first.json().id as string}`)).json()).toMatchObject({ status: 'CANCELLED' });
    // A transaction created now is handed to the held poll and delivered.
    const next = device.next(2);
    await new Promise((r) => setTimeout(r, 200));
    const second = await api('POST', `/terminals/${t.id}/transactions`, purchase(2));
    const got = await next;
    expect(got.statusCode).toBe(200);
    expect(got.json().id).toBe(second.json().id);
    // Retrieved: the customer system can no longer replace it.
    expect((await api('POST', `/terminals/${t.id}/transactions`, purchase(3))).statusCode).toBe(409);
  });

  it('records a transaction created for a terminal whose poll is held here as RETRIEVED in its creation, with both moves and both events', async () => {
    const { app } = ctx();
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const api = merchantApi(app, c.apiKey);
    const device = deviceApi(app, t.deviceToken);
    // A poll, once it is held (in an object: an async function would wait for a returned promise).
    const held = async () => {
      const polling = device.next(2);
      for (let i = 0; app.platform.transactions.heldPolls() === 0; i++) {
        if (i > 200) throw new Error('the poll was never held');
        await new Promise((r) => setTimeout(r, 5));
      }
      return { polling };
    };
    const handed: Transaction[] = [];
    const stop = app.platform.notifier.watch((_pk, _id, created) => void (created && handed.push(created)));
    try {
      // A purchase (on PostgreSQL, the creation in one statement) and a refund of it (the creation
      // in a database transaction, which locks the purchase), each with a poll waiting for it.
      let { polling } = await held();
      const bought = await api('POST', `/terminals/${t.id}/transactions`, purchase(20));
      expect(bought.statusCode).toBe(201);
      expect(bought.json().status).toBe('CREATED');
      const got = await polling;
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(bought.json());
      expect((await device.card(bought.json().id)).json()).toMatchObject({ status: 'CLEARED' });
      ({ polling } = await held());
      const refund = { type: 'REFUND', merchant_order_reference: 'r', amount: { value: 5, currency: 'EUR' }, reference: { id: bought.json().id } };
      const refunded = await api('POST', `/terminals/${t.id}/transactions`, refund);
      expect(refunded.statusCode).toBe(201);
      expect((await polling).json()).toEqual(refunded.json());

      // What the poll was handed had been retrieved by the creation's commit, not by a move of its own.
      expect(handed.map((x) => [x.id, x.stage])).toEqual([
        [bought.json().id, 'RETRIEVED'],
        [refunded.json().id, 'RETRIEVED'],
      ]);
      for (const id of [bought.json().id as string, refunded.json().id as string]) {
        const history = await app.platform.transactions.events(id);
        expect(history.slice(0, 2).map((e) => [e.event, e.actor, e.from_stage, e.to_stage])).toEqual([
          ['CREATE', 'CUSTOMER', null, 'PENDING'],
          ['RETRIEVE', 'TERMINAL', 'PENDING', 'RETRIEVED'],
        ]);
        expect(history[1]!.at).toBe(history[0]!.at);
      }
      const log = (await api('GET', '/events?size=100')).json() as Array<{ type: string; sequence: number; data: { id: string; status: string } }>;
      expect(log.filter((e) => e.data.id === refunded.json().id).map((e) => [e.type, e.sequence, e.data.status])).toEqual([
        ['transaction.retrieved', 2, 'CREATED'],
        ['transaction.created', 1, 'CREATED'],
      ]);
      // Retrieved: the customer system can no longer replace it, and can still cancel it.
      expect((await api('POST', `/terminals/${t.id}/transactions`, purchase(3))).statusCode).toBe(409);
      expect((await api('DELETE', `/terminals/${t.id}/transactions/${refunded.json().id as string}`)).statusCode).toBe(204);
    } finally {
      stop();
    }
  });

  it('cuts a long wait to the configured maximum and answers 204', async () => {
    const c = await onboard(ctx().app);
    const started = Date.now();
    const res = await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next(60);
    expect(res.statusCode).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('marks the terminal seen without a database write per poll', async () => {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const before = (await api('GET', '/terminals')).json()[0];
    expect(before).toMatchObject({ last_seen: null, online: false });
    await deviceApi(ctx().app, c.terminals[0]!.deviceToken).next();
    const stored = async () =>
      (
        await ctx()
          .db.store.db.selectFrom('terminal_presence')
          .innerJoin('terminals', 'terminals.id', 'terminal_presence.terminal_id')
          .select('terminal_presence.last_seen_at')
          .where('terminals.terminal_key', '=', c.terminals[0]!.id.toLowerCase())
          .executeTakeFirst()
      )?.last_seen_at ?? null;
    expect(await stored()).toBeNull();
    const after = (await api('GET', '/terminals')).json()[0];
    expect(after.online).toBe(true);
    expect(Date.now() - Date.parse(after.last_seen)).toBeLessThan(5_000);
    await ctx().app.platform.presence.flush();
    expect(await stored()).toBe(Date.parse(after.last_seen));
  });

  it('counts a terminal holding a long poll as online', async () => {
    const c = await onboard(ctx().app);
    const polling = deviceApi(ctx().app, c.terminals[0]!.deviceToken).next(2);
    await new Promise((r) => setTimeout(r, 50));
    expect((await merchantApi(ctx().app, c.apiKey)('GET', '/terminals')).json()[0].online).toBe(true);
    await polling;
  });

  it('does not hand one terminal another terminal’s transaction', async () => {
    const c = await onboard(ctx().app, { terminalsPerStore: 2 });
    const created = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(1));
    const other = deviceApi(ctx().app, c.terminals[1]!.deviceToken);
    expect((await other.next()).statusCode).toBe(204);
    expect((await other.get(created.json().id)).statusCode).toBe(404);
    expect((await other.card(created.json().id)).statusCode).toBe(404);
    expect((await other.cancel(created.json().id)).statusCode).toBe(404);
  });
});
