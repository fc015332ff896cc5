import { afterAll, expect, it } from 'vitest';
import { NOT_SENT } from '../../src/webhooks/receiver-health.js';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform, type OnboardedCustomer } from '../support/platform.js';
import { startReceiver, type Answer, type Receiver } from '../support/receiver.js';
import { describeEachStore } from '../support/stores.js';
import { purchase } from '../support/terminal.js';

interface Attempt {
  event_id: string;
  attempt: number;
  status_code?: number | null;
  error?: string | null;
  outcome: string;
}

/** Every endpoint of a customer shares the platform's delivery slots (WEBHOOK_MAX_IN_FLIGHT, 4
 * here) with every other customer's: one whose receiver holds its requests must not take them all. */
describeEachStore('a receiver that holds its requests', (dialect) => {
  const ctx = usePlatform(dialect, { env: { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms', WEBHOOK_MAX_IN_FLIGHT: '4' } });
  const receivers: Receiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** A customer with two endpoints for `transaction.created`: one answered as `answer` says, one answering 200 at once. */
  async function twoEndpoints(answer: () => Answer) {
    const c = await onboard(ctx().app);
    const api = merchantApi(ctx().app, c.apiKey);
    const held = await startReceiver(answer);
    const healthy = await startReceiver();
    receivers.push(held, healthy);
    const ids: string[] = [];
    for (const r of [held, healthy]) {
      const res = await api('POST', '/webhook-endpoints', { url: r.url, events: ['transaction.created'] });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
    }
    return { c, api, held, healthy, heldId: ids[0]!, create: (n: number) => create(c, n) };
  }

  /** One payment created: one `transaction.created` event (an unfetched one before it is superseded). */
  async function create(c: OnboardedCustomer, n: number) {
    const res = await merchantApi(ctx().app, c.apiKey)('POST', `/terminals/${c.terminals[0]!.id}/transactions`, purchase(n, `r${n}`));
    expect(res.statusCode, res.body).toBe(201);
  }

  async function attemptsOf(api: ReturnType<typeof merchantApi>, endpointId: string): Promise<Attempt[]> {
    const res = await api('GET', `/webhook-endpoints/${endpointId}/deliveries?size=100`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Attempt[];
  }

  it('holds at most half the slots once it is slow; the other endpoint gets every event meanwhile', async () => {
    const { api, held, healthy, heldId, create } = await twoEndpoints(() => 'hang');
    await create(1);
    await held.until(() => held.held() === 1);
    // Its one attempt has waited longer than a receiver answering at once takes: the endpoint is slow.
    await new Promise((resolve) => setTimeout(resolve, 400));
    for (let n = 2; n <= 9; n++) await create(n);
    await healthy.until((all) => all.length >= 9);
    expect(held.maxHeld()).toBe(2);
    expect(held.held()).toBe(2);
    // What waits for it is neither sent nor failed: no attempt has ended.
    expect(await attemptsOf(api, heldId)).toEqual([]);
  });

  it('fails what is due at once while its last attempt went unanswered for 10 s, one attempt at a time finding out whether it is back', async () => {
    let answer: Answer = 'hang';
    const { api, held, healthy, heldId, create } = await twoEndpoints(() => answer);
    await create(1);
    // The first attempt goes unanswered for 10 s; its retry is the one attempt that finds out.
    const [first, probe] = await held.until((all) => all.length >= 2);
    expect(probe!.id).toBe(first!.id);
    for (let n = 2; n <= 4; n++) await create(n);
    await healthy.until((all) => all.length >= 4);
    // Each of the three: failed at once, twice retried after 100 ms, then FAILED; never sent.
    let attempts: Attempt[] = [];
    while (attempts.filter((a) => a.outcome === 'FAILED').length < 3) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      attempts = await attemptsOf(api, heldId);
    }
    expect(held.received).toHaveLength(2);
    const notSent = attempts.filter((a) => a.error === NOT_SENT);
    expect(notSent).toHaveLength(9);
    expect(notSent.every((a) => a.event_id !== first!.id && a.status_code == null)).toBe(true);
    expect(attempts.find((a) => a.event_id === first!.id)).toMatchObject({ attempt: 1, error: 'no answer within 10 s', outcome: 'RETRYING' });

    // It answers: sent to again as usual.
    answer = 200;
    held.answerHeld(200);
    while (!(await attemptsOf(api, heldId)).some((a) => a.event_id === first!.id && a.outcome === 'DELIVERED')) await new Promise((resolve) => setTimeout(resolve, 20));
    await create(5);
    const [, , again] = await held.until((all) => all.length >= 3);
    expect(again!.event.data.merchant_order_reference).toBe('r5');
    expect(again!.answeredWith).toBe(200);
  });
});
