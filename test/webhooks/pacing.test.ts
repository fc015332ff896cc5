import { afterEach, expect, it } from 'vitest';
import type { ClaimedDelivery, FinishedAttempt, WebhookRepository } from '../../src/db/webhook-repository.js';
import { WebhookWorker } from '../../src/webhooks/delivery.js';
import type { SecretBox } from '../../src/webhooks/secrets.js';

/** A store with an endpoint and nothing due: what the worker's looks ask it, and when each claim came. */
function idleStore() {
  const claims: number[] = [];
  const repo = {
    anyEndpoint: async () => true,
    dispatch: async () => 0,
    dueFrom: async () => undefined,
    cycle: async (_now: number, _finished: FinishedAttempt[], _limit: number): Promise<ClaimedDelivery[]> => {
      claims.push(performance.now());
      return [];
    },
    release: async () => {},
  };
  return { repo: repo as unknown as WebhookRepository, claims };
}

let worker: WebhookWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

/** Keeps the event loop busy in slices of `sliceMs` until `ms` have passed, waking the worker in
 * each; answers the longest turn of the loop seen (from the end of one slice to the end of the next). */
function busyFor(ms: number, sliceMs: number, wake: () => void): Promise<number> {
  const end = performance.now() + ms;
  let last = performance.now();
  let longest = 0;
  return new Promise((resolve) => {
    const slice = () => {
      const until = Math.min(end, performance.now() + sliceMs);
      while (performance.now() < until);
      wake();
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      if (now < end) setImmediate(slice);
      else resolve(longest);
    };
    setImmediate(slice);
  });
}

it('spaces its looks further apart while the event loop that serves the API has no time to spare', async () => {
  const { repo, claims } = idleStore();
  worker = new WebhookWorker(repo, {} as SecretBox, Date.now, { schedule: [5_000], maxInFlight: 8, policy: { production: false, allowPrivate: true } });
  worker.start();
  // Changes committing all the while, each waking the worker: on an idle loop it would look every
  // 50 ms; on this one, every 100 ms. A timer counts from the loop's clock, read when its turn
  // began, so it may fire early by at most the longest turn.
  const longestTurn = await busyFor(900, 2, () => worker!.wake());
  expect(claims.length).toBeGreaterThanOrEqual(4);
  const gaps = claims.slice(1).map((at, i) => at - claims[i]!);
  // The first gap follows the look made when the worker started, before the loop was measured busy.
  for (const gap of gaps.slice(1)) expect(gap).toBeGreaterThanOrEqual(100 - longestTurn - 1);
});
