import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { EventRepository } from '../../src/db/event-repository.js';
import { WebhookRepository, type ClaimedDelivery, type FinishedAttempt } from '../../src/db/webhook-repository.js';
import { customerWithEndpoint } from '../support/outbox.js';
import { describeEachStore, useTestDatabase } from '../support/stores.js';

const LEASE = 15_000;

const attempt = (delivery: ClaimedDelivery, outcome: FinishedAttempt['attempt']['outcome'], at: number, next = at): FinishedAttempt => ({
  delivery,
  attempt: { at, status_code: outcome === 'DELIVERED' ? 204 : 500, error: null, duration_ms: 3, outcome, next_attempt_at: next },
});

describeEachStore('recording attempts and claiming deliveries', (dialect) => {
  const db = useTestDatabase(dialect);

  it('records each attempt with its delivery, claims what is due, and fails what lost its event', async () => {
    const { db: kysely } = db().store;
    const repo = new WebhookRepository(kysely, dialect);
    const events = new EventRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, repo, 'we_1', 'http://127.0.0.1:9/hooks');
    for (let i = 1; i <= 4; i++) await events.append(kysely, { customer_id, type: 'transaction.created', subject: `transaction:${i}`, data: { n: i }, at: 1_000 + i });

    // Due at once, oldest first, with what sending needs; a limit is a limit.
    const first = await repo.cycle(2_000, [], 3, LEASE, []);
    expect(first.map((d) => d.event.data)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(first[0]).toMatchObject({ endpoint_id: 'we_1', url: 'http://127.0.0.1:9/hooks', secret: 'sealed', attempts: 0, event: { type: 'transaction.created', sequence: 1, created_at: 1_001 } });
    const [a, b, c] = first as [ClaimedDelivery, ClaimedDelivery, ClaimedDelivery];

    // Recorded and claimed together: a delivered one, one to retry later, one failed for good;
    // what this instance still holds is not claimed twice.
    const second = await repo.cycle(3_000, [attempt(a, 'DELIVERED', 2_500), attempt(b, 'RETRYING', 2_500, 9_000), attempt(c, 'FAILED', 2_500)], 3, LEASE, first.map((d) => d.id));
    expect(second.map((d) => d.event.data)).toEqual(['{"n":4}']);
    const rows = await kysely.selectFrom('webhook_deliveries').select(['id', 'status', 'attempts', 'next_attempt_at']).orderBy('id').execute();
    expect(rows.map((r) => [r.status, Number(r.attempts)])).toEqual([['DELIVERED', 1], ['PENDING', 1], ['FAILED', 1], ['PENDING', 0]]);
    expect(Number(rows[1]!.next_attempt_at)).toBe(9_000);
    const recorded = await repo.attempts('we_1', 0, 0, 10);
    expect(await repo.attemptTally.countFrom('we_1', undefined, 0)).toBe(3);
    expect(recorded.map((r) => [r.event_id, Number(r.attempt), r.outcome, r.status_code === null ? null : Number(r.status_code)]).reverse()).toEqual([
      [a.event.id, 1, 'DELIVERED', 204],
      [b.event.id, 1, 'RETRYING', 500],
      [c.event.id, 1, 'FAILED', 500],
    ]);

    // The retry falls due; its event is gone meanwhile (aged out): FAILED, not sent.
    await kysely.deleteFrom('events').where('id', '=', b.event.id).execute();
    const [d] = second as [ClaimedDelivery];
    expect(await repo.cycle(10_000, [attempt(d, 'DELIVERED', 9_500)], 5, LEASE, [d.id])).toEqual([]);
    const after = await kysely.selectFrom('webhook_deliveries').select('status').orderBy('id').execute();
    expect(after.map((r) => r.status)).toEqual(['DELIVERED', 'FAILED', 'FAILED', 'DELIVERED']);
  });

  it('on PostgreSQL claims from the floor it is given: what fell due before it waits for a lower one', async () => {
    const { db: kysely } = db().store;
    const repo = new WebhookRepository(kysely, dialect);
    const events = new EventRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, repo, 'we_floor', 'http://127.0.0.1:9/floor');
    for (let i = 1; i <= 3; i++) await events.append(kysely, { customer_id, type: 'transaction.created', subject: `transaction:f${i}`, data: { f: i }, at: 1_000 + i });
    const data = (claimed: ClaimedDelivery[]) => claimed.map((d) => d.event.data).sort();

    if (dialect === 'sqlite') {
      // Its index holds no dead entries to step over: no floor, every due delivery is claimed.
      expect(await repo.dueFrom(5_000)).toBeUndefined();
      expect(data(await repo.cycle(5_000, [], 10, LEASE, [], 1_002))).toEqual(['{"f":1}', '{"f":2}', '{"f":3}']);
    } else {
      expect(await repo.dueFrom(5_000)).toBe(1_001);
      // Never later than now, whatever is pending.
      expect(await repo.dueFrom(500)).toBe(500);
      const above = await repo.cycle(5_000, [], 10, LEASE, [], 1_002);
      expect(data(above)).toEqual(['{"f":2}', '{"f":3}']);
      // Claimed is still pending (leased): the floor stays below it.
      expect(await repo.dueFrom(5_000)).toBe(1_001);
      const rest = await repo.cycle(5_000, [], 10, LEASE, [], await repo.dueFrom(5_000));
      expect(data(rest)).toEqual(['{"f":1}']);
      // Everything delivered: nothing pending, the floor is now.
      await repo.cycle(6_000, [...above, ...rest].map((d) => attempt(d, 'DELIVERED', 5_500)), 0, LEASE, []);
      expect(await repo.dueFrom(6_000)).toBe(6_000);
    }
    expect(await repo.deleteEndpoint(customer_id, 'we_floor')).toBe(true);
  });

  it("writes an event's deliveries in the commit of its change, to the endpoints subscribed to its type, and none for a change rolled back", async () => {
    const { db: kysely } = db().store;
    const repo = new WebhookRepository(kysely, dialect);
    const events = new EventRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, repo, 'we_all', 'http://127.0.0.1:9/all');
    await repo.insertEndpoint({ id: 'we_cleared', customer_id, url: 'http://127.0.0.1:9/cleared', events: '["transaction.cleared"]', description: null, secret: 'sealed', previous_secret: null, previous_secret_until: null, created_at: 0 }, 16);
    const deliveries = async () =>
      (await kysely.selectFrom('webhook_deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id').select(['e.type', 'd.endpoint_id']).where('d.endpoint_id', 'in', ['we_all', 'we_cleared']).orderBy('d.id').execute()).map((r) => `${r.type} → ${r.endpoint_id}`);

    await kysely.transaction().execute((tx) => events.append(tx, { customer_id, type: 'transaction.created', subject: 'transaction:w', data: {}, at: 1 }));
    await kysely.transaction().execute((tx) => events.append(tx, { customer_id, type: 'transaction.cleared', subject: 'transaction:w', data: {}, at: 2 }));
    // No look of a worker in between: the commits wrote them.
    expect(await deliveries()).toEqual(['transaction.created → we_all', 'transaction.cleared → we_all', 'transaction.cleared → we_cleared']);

    await expect(
      kysely.transaction().execute(async (tx) => {
        await events.append(tx, { customer_id, type: 'transaction.cleared', subject: 'transaction:x', data: {}, at: 3 });
        throw new Error('the change fails');
      }),
    ).rejects.toThrow('the change fails');
    expect(await deliveries()).toHaveLength(3);
    // Written dispatched: the sweep for events an older version left behind makes none twice.
    expect(await repo.dispatch(4)).toBe(0);
    expect(await deliveries()).toHaveLength(3);
    // Due now: gone with their endpoints, so that later tests claim only their own.
    for (const id of ['we_all', 'we_cleared']) expect(await repo.deleteEndpoint(customer_id, id)).toBe(true);
  });

  it.runIf(dialect === 'postgres')('leases what it claims, and an attempt under a lease since taken over moves nothing', async () => {
    const { db: kysely } = db().store;
    const repo = new WebhookRepository(kysely, dialect);
    const events = new EventRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, repo, 'we_2', 'http://127.0.0.1:9/other');
    await events.append(kysely, { customer_id, type: 'transaction.created', subject: 'transaction:lease', data: {}, at: 20_000 });

    const [mine] = (await repo.cycle(20_000, [], 10, LEASE, [])) as [ClaimedDelivery];
    expect(mine.lease_until).toBe(20_000 + LEASE);
    // Leased: another instance claims nothing until the lease runs out, then takes it over.
    expect(await repo.cycle(21_000, [], 10, LEASE, [])).toEqual([]);
    const [theirs] = (await repo.cycle(20_000 + LEASE + 1, [], 10, LEASE, [])) as [ClaimedDelivery];
    expect(theirs.id).toBe(mine.id);
    // The first instance's late failure is recorded, but the delivery is the other's to move.
    await repo.cycle(36_000, [attempt(mine, 'RETRYING', 35_500, 99_000)], 0, LEASE, []);
    const row = await kysely.selectFrom('webhook_deliveries').select(['status', 'attempts', 'next_attempt_at', 'lease_until']).where('id', '=', mine.id).executeTakeFirstOrThrow();
    expect([row.status, Number(row.attempts), Number(row.next_attempt_at), Number(row.lease_until)]).toEqual(['PENDING', 0, 20_000, 20_000 + 2 * LEASE + 1]);
    expect(await repo.attemptTally.countFrom('we_2', undefined, 0)).toBe(1);
    // Its own answer moves it.
    await repo.cycle(37_000, [attempt(theirs, 'DELIVERED', 36_500)], 0, LEASE, []);
    const done = await kysely.selectFrom('webhook_deliveries').select(['status', 'lease_until']).where('id', '=', mine.id).executeTakeFirstOrThrow();
    expect([done.status, done.lease_until]).toEqual(['DELIVERED', null]);
  });

  it('deletes an endpoint while a look holds some of its deliveries, and fails what the look kept', async () => {
    const { db: kysely } = db().store;
    const repo = new WebhookRepository(kysely, dialect);
    const events = new EventRepository(kysely, dialect);
    const customer_id = await customerWithEndpoint(kysely, repo, 'we_3', 'http://127.0.0.1:9/gone');
    for (let i = 1; i <= 3; i++) await events.append(kysely, { customer_id, type: 'transaction.created', subject: `transaction:gone-${i}`, data: {}, at: 40_000 + i });
    // SQLite's events wait for the worker to make their deliveries.
    await repo.dispatch(40_010);
    const ids = (await kysely.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', 'we_3').orderBy('id').execute()).map((r) => Number(r.id));
    expect(ids).toHaveLength(3);
    const [first, , last] = ids as [number, number, number];

    if (dialect === 'postgres') {
      // A worker's look on PostgreSQL locks what it claims, then what it records, in one statement:
      // here it holds the last delivery (claimed) and then records the first. A deletion that
      // locked the first and waited for the last would deadlock with it, and the DELETE would fail
      // (a 500, the endpoint left in place to receive every later event).
      let deleted: Promise<boolean> | undefined;
      await kysely.transaction().execute(async (look) => {
        await look.selectFrom('webhook_deliveries').select('id').where('id', '=', last).forUpdate().execute();
        deleted = repo.deleteEndpoint(customer_id, 'we_3');
        // Until the deletion ends or waits for a lock.
        let settled = false;
        void deleted.then(() => (settled = true), () => (settled = true));
        const waiting = async () =>
          Number((await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(kysely)).rows[0]!.n) > 0;
        while (!settled && !(await waiting())) await new Promise((r) => setTimeout(r, 5));
        await look.updateTable('webhook_deliveries').set({ lease_until: null }).where('id', '=', first).execute();
      });
      expect(await deleted).toBe(true);
    } else {
      expect(await repo.deleteEndpoint(customer_id, 'we_3')).toBe(true);
    }
    // What the look held is not sent to an endpoint that is gone: the next claim fails it.
    expect(await repo.cycle(50_000, [], 10, LEASE, [])).toEqual([]);
    const left = await kysely.selectFrom('webhook_deliveries').select('status').where('endpoint_id', '=', 'we_3').execute();
    expect(left.every((r) => r.status === 'FAILED')).toBe(true);
  });
});
