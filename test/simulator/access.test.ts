import { describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_CUSTOMER, SESSION_IDLE_MS, SESSION_MAX_MS, SimulatorSessions } from '../../src/simulator/sessions.js';
import { isProblem, merchantApi, type Response } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { describeEachStore } from '../support/stores.js';

function expectProblem(res: Response, status: number) {
  expect(res.statusCode, res.body).toBe(status);
  expect(isProblem(res)).toBe(true);
  expect(res.json()).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
}

describeEachStore('/simulator/api: one customer, its own terminals', (dialect) => {
  const platform = usePlatform(dialect, { clock: true });

  /** Calls /simulator/api with an API key (or none) and, for the device mount, a session. */
  const sim = (key: string | undefined, session?: string) => {
    const call = merchantApi(platform().app, key);
    return (method: 'GET' | 'POST', path: string, body?: unknown) =>
      call(method, `/simulator/api${path}`, body, session ? { authorization: `Bearer ${session}` } : {});
  };
  const openSession = async (key: string, terminal: string) => {
    const res = await sim(key)('POST', '/sessions', { terminal });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().token as string;
  };

  it('refuses every call without a key (401) and with a bad key (403), as the MerchantAPI', async () => {
    const c = await onboard(platform().app);
    const t = c.terminals[0]!.id;
    const session = await openSession(c.apiKey, t);
    const calls: Array<['GET' | 'POST', string, unknown?]> = [
      ['GET', '/terminals'],
      ['GET', '/cards'],
      ['GET', `/terminals/${t}/qr.svg`],
      ['POST', '/sessions', { terminal: t }],
      ['GET', '/device/config'],
      ['GET', '/device/transactions/next'],
    ];
    for (const [method, path, body] of calls) {
      const missing = await sim(undefined, session)(method, path, body);
      expectProblem(missing, 401);
      expect(missing.json().type, path).toMatch(/api-key-missing/);
      const bad = await sim('cpos_key_not-a-key', session)(method, path, body);
      expectProblem(bad, 403);
      expect(bad.json().type, path).toMatch(/api-key-invalid/);
    }
    // The page itself needs no key: it asks for one.
    expect((await platform().app.inject({ url: '/simulator' })).statusCode).toBe(200);
    // Nothing of the simulator reaches the OpenAPI document.
    expect(JSON.stringify((await platform().app.inject({ url: '/openapi.json' })).json())).not.toContain('/simulator');
  });

  it("lists only the key's customer's terminals; another customer's terminal answers 404", async () => {
    const mine = await onboard(platform().app, { terminalsPerStore: 2 });
    const theirs = await onboard(platform().app);
    const listed = await sim(mine.apiKey)('GET', '/terminals');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().map((t: { id: string }) => t.id).sort()).toEqual(mine.terminals.map((t) => t.id).sort());
    expect(listed.headers['x-total-count']).toBe('2');
    const other = theirs.terminals[0]!.id;
    expectProblem(await sim(mine.apiKey)('GET', `/terminals/${other}/qr.svg`), 404);
    expectProblem(await sim(mine.apiKey)('POST', '/sessions', { terminal: other }), 404);
    const qr = await sim(mine.apiKey)('GET', `/terminals/${mine.terminals[0]!.id.toLowerCase()}/qr.svg`);
    expect(qr.statusCode).toBe(200);
    expect(qr.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const cards = (await sim(mine.apiKey)('GET', '/cards')).json();
    expect(cards).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ number: '4111111111111111', last4: '1111', brand: 'VISA', outcome: 'APPROVED', emv: expect.objectContaining({ aid: 'A0000000031010' }) }),
        expect.objectContaining({ number: '4000000000000002', outcome: 'DECLINED', decline_reason: 'DO_NOT_HONOUR' }),
      ]),
    );
  });

  it("a session acts only for its terminal, and only with its own customer's key (403 with another's)", async () => {
    const mine = await onboard(platform().app, { terminalsPerStore: 2 });
    const theirs = await onboard(platform().app);
    const session = await openSession(mine.apiKey, mine.terminals[1]!.id);
    const config = await sim(mine.apiKey, session)('GET', '/device/config');
    expect(config.statusCode, config.body).toBe(200);
    expect(config.json().terminal.id).toBe(mine.terminals[1]!.id);
    expectProblem(await sim(theirs.apiKey, session)('GET', '/device/config'), 403);
    expectProblem(await sim(mine.apiKey)('GET', '/device/config'), 401); // no session
    expectProblem(await sim(mine.apiKey, 'cpos_sim_nope')('GET', '/device/config'), 403);
    // A session is not a device token: /device/v1 refuses it.
    const direct = await platform().app.inject({ url: '/device/v1/config', headers: { authorization: `Bearer ${session}` } });
    expectProblem(direct, 403);
    // A payment of another terminal of the same customer is not this session's to see.
    const created = await merchantApi(platform().app, mine.apiKey)('POST', `/terminals/${mine.terminals[0]!.id}/transactions`, {
      type: 'PURCHASE', merchant_order_reference: 'sim-access', amount: { value: 1.5, currency: 'EUR' },
    });
    expect(created.statusCode).toBe(201);
    expect((await sim(mine.apiKey, session)('GET', '/device/transactions/next')).statusCode).toBe(204);
    expectProblem(await sim(mine.apiKey, session)('GET', `/device/transactions/${created.json().id}`), 404);
  });

  it('a session expires after its idle time (and at its hard deadline however busy)', async () => {
    const c = await onboard(platform().app);
    const clock = platform().clock!;
    const session = await openSession(c.apiKey, c.terminals[0]!.id);
    clock.advance(SESSION_IDLE_MS - 1_000);
    expect((await sim(c.apiKey, session)('GET', '/device/config')).statusCode).toBe(200); // used: extended
    clock.advance(SESSION_IDLE_MS - 1_000);
    expect((await sim(c.apiKey, session)('GET', '/device/config')).statusCode).toBe(200);
    clock.advance(SESSION_IDLE_MS + 1);
    const expired = await sim(c.apiKey, session)('GET', '/device/config');
    expectProblem(expired, 403);
    expect(expired.json().detail).toMatch(/unknown or expired/);

    const busy = await openSession(c.apiKey, c.terminals[0]!.id);
    for (let used = 0; used < SESSION_MAX_MS; used += SESSION_IDLE_MS / 2) {
      expect((await sim(c.apiKey, busy)('GET', '/device/config')).statusCode).toBe(200);
      clock.advance(SESSION_IDLE_MS / 2);
    }
    expectProblem(await sim(c.apiKey, busy)('GET', '/device/config'), 403);
  });

  it(`holds at most ${MAX_SESSIONS_PER_CUSTOMER} sessions per customer: one more ends that customer's oldest, never another's`, async () => {
    const a = await onboard(platform().app);
    const b = await onboard(platform().app);
    const bSession = await openSession(b.apiKey, b.terminals[0]!.id);
    const aSessions: string[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_CUSTOMER + 5; i++) aSessions.push(await openSession(a.apiKey, a.terminals[0]!.id));
    const alive = async (key: string, s: string) => (await sim(key, s)('GET', '/device/config')).statusCode === 200;
    for (const [i, s] of aSessions.entries()) expect(await alive(a.apiKey, s), `session ${i}`).toBe(i >= 5);
    expect(await alive(b.apiKey, bSession)).toBe(true);
  });
});

describe('SimulatorSessions', () => {
  it('bounds each customer on its own and forgets expired sessions', () => {
    let now = 1_000_000;
    const sessions = new SimulatorSessions(() => now);
    const first = sessions.open(1, 10).token;
    for (let i = 0; i < MAX_SESSIONS_PER_CUSTOMER; i++) sessions.open(1, 10);
    sessions.open(2, 20);
    expect(sessions.countOf(1)).toBe(MAX_SESSIONS_PER_CUSTOMER);
    expect(sessions.countOf(2)).toBe(1);
    expect(sessions.find(first)).toBeUndefined();
    now += SESSION_IDLE_MS;
    expect(sessions.countOf(1)).toBe(0);
    expect(sessions.countOf(2)).toBe(0);
  });
});
