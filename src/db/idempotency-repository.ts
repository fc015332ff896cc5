import { deleteOlderInSlices, RETENTION_SLICE } from './delete-in-slices.js';
import type { Executor } from './executor.js';

export class IdempotencyRepository {
  constructor(private readonly db: Executor) {}

  /** Claims the key for a first request; false when the customer used it before. */
  async claim(customerId: number, key: string, requestHash: string, now: number): Promise<boolean> {
    const res = await this.db
      .insertInto('idempotency_keys')
      .values({ customer_id: customerId, key, request_hash: requestHash, created_at: now })
      .onConflict((oc) => oc.columns(['customer_id', 'key']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  find(customerId: number, key: string) {
    return this.db.selectFrom('idempotency_keys').selectAll().where('customer_id', '=', customerId).where('key', '=', key).executeTakeFirst();
  }

  complete(customerId: number, key: string, status: number, body: string | null, headers: Record<string, string>) {
    return this.db
      .updateTable('idempotency_keys')
      .set({ response_status: status, response_body: body, response_headers: JSON.stringify(headers) })
      .where('customer_id', '=', customerId)
      .where('key', '=', key)
      .execute();
  }

  release(customerId: number, key: string) {
    return this.db.deleteFrom('idempotency_keys').where('customer_id', '=', customerId).where('key', '=', key).execute();
  }

  deleteOlderThan(at: number, slice = RETENTION_SLICE) {
    return deleteOlderInSlices(this.db, 'idempotency_keys', ['customer_id', 'key'], 'created_at', at, slice);
  }
}
