import type { Database } from './database.js';
import type { Executor } from './executor.js';

export class ApiKeyRepository {
  private readonly db: Executor;
  private readonly lockRows: boolean;

  constructor(database: Database) {
    this.db = database.db;
    this.lockRows = database.dialect === 'postgres';
  }

  /** Takes the customer's row lock (PostgreSQL; a SQLite transaction holds the write lock from its
   * start) so that rules spanning its keys run one at a time. */
  lockCustomer(customerId: number, db: Executor) {
    const q = db.selectFrom('customers').select('id').where('id', '=', customerId);
    return (this.lockRows ? q.forUpdate() : q).executeTakeFirst();
  }

  insert(
    key: { customer_id: number; label: string; prefix: string; key_hash: string; valid_from: number | null; valid_until: number | null; created_at: number },
    db: Executor = this.db,
  ) {
    return db.insertInto('api_keys').values(key).returning('id').executeTakeFirstOrThrow();
  }

  findByHash(hash: string) {
    return this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
  }

  find(customerId: number, id: number, db: Executor = this.db) {
    return db
      .selectFrom('api_keys')
      .selectAll()
      .where('customer_id', '=', customerId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Keys that are neither revoked nor expired at `now` (one valid from a later date counts). */
  private unexpired(customerId: number, now: number, db: Executor) {
    return db
      .selectFrom('api_keys')
      .where('customer_id', '=', customerId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)]));
  }

  async countUnexpired(customerId: number, now: number, db: Executor = this.db) {
    const row = await this.unexpired(customerId, now, db)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  pageUnexpired(customerId: number, now: number, offset: number, limit: number) {
    return this.unexpired(customerId, now, this.db)
      .selectAll()
      .orderBy('id')
      .offset(offset)
      .limit(limit)
      .execute();
  }

  /** Keys valid right now and without an end date, other than `exceptId`: the ones that keep the
   * customer able to call the API for good. */
  async countLastingExcept(customerId: number, exceptId: number, now: number, db: Executor = this.db) {
    const row = await this.unexpired(customerId, now, db)
      .where('valid_until', 'is', null)
      .where((eb) => eb.or([eb('valid_from', 'is', null), eb('valid_from', '<=', now)]))
      .where('id', '!=', exceptId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  revoke(customerId: number, id: number, now: number, db: Executor = this.db) {
    return db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('customer_id', '=', customerId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
  }

  touch(id: number, at: number) {
    return this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  listForCustomer(customerId: number) {
    return this.db.selectFrom('api_keys').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
  }
}
