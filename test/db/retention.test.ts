import { expect, it } from 'vitest';
import { EventRepository } from '../../src/db/event-repository.js';
import { IdempotencyRepository } from '../../src/db/idempotency-repository.js';
import { WebhookRepository, type ClaimedDelivery } from '../../src/db/webhook-repository.js';
import { customerWithEndpoint } from '../support/outbox.js';
import { describeEachStore, useTestDatabase } from '../support/stores.js';

describeEachStore('retention deletes what aged out, a slice of rows per statement', (dialect) => {
  const db = useTestDatabase(dialect);

  it('events, their deliveries and attempts before the cutoff go, across several slices; later ones stay', async () => {
    const { db: kysely } = db().store;
    const events = new EventRepository(kysely, dialect);
    const webhooks = new WebhookRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, webhooks, 'we_r', 'http://127.0.0.1:9/r');
    for (let i = 1; i <= 9; i++) await events.append(kysely, { customer_id, type: 'transaction.created', subject: `transaction:r${i}`, data: { n: i }, at: 1_000 + i });
    // Deliveries made and claimed; each answered, at the time of its own event.
    const claimed = await webhooks.cycle(2_000, [], 20, 15_000, []);
    expect(claimed).toHaveLength(9);
    const answered = claimed.map((delivery: ClaimedDelivery) => ({
      delivery,
      attempt: { at: delivery.event.created_at, status_code: 204, error: null, duration_ms: 1, outcome: 'DELIVERED' as const, next_attempt_at: delivery.event.created_at },
    }));
    await webhooks.cycle(3_000, answered, 0, 15_000, []);

    // Seven of nine are older than the cutoff: three statements of three, the last one short.
    await events.deleteOlderThan(1_008, 3);
    const left = await kysely.selectFrom('events').select('created_at').orderBy('created_at').execute();
    expect(left.map((e) => Number(e.created_at))).toEqual([1_008, 1_009]);
    const deliveries = await kysely.selectFrom('webhook_deliveries').select('created_at').orderBy('created_at').execute();
    expect(deliveries.map((d) => Number(d.created_at))).toEqual([1_008, 1_009]);
    const attempts = await kysely.selectFrom('webhook_attempts').select('at').orderBy('at').execute();
    expect(attempts.map((a) => Number(a.at))).toEqual([1_008, 1_009]);
  });

  it('idempotency keys, by customer and key', async () => {
    const { db: kysely } = db().store;
    const repo = new IdempotencyRepository(kysely);
    const ids: number[] = [];
    for (const name of ['a', 'b']) {
      const c = await kysely.insertInto('customers').values({ name, created_at: 0 }).returning('id').executeTakeFirstOrThrow();
      ids.push(Number(c.id));
    }
    // The same keys for two customers, at times 1 to 5.
    for (let t = 1; t <= 5; t++) for (const id of ids) expect(await repo.claim(id, `k${t}`, 'h', t)).toBe(true);
    expect(await repo.deleteOlderThan(4, 2)).toBe(6);
    const left = await kysely.selectFrom('idempotency_keys').select(['customer_id', 'key']).orderBy('customer_id').orderBy('key').execute();
    expect(left.map((r) => `${Number(r.customer_id) === ids[0] ? 'a' : 'b'}:${r.key}`)).toEqual(['a:k4', 'a:k5', 'b:k4', 'b:k5']);
  });
});
