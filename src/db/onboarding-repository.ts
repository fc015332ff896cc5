import type { Terminal } from '../domain/terminal.js';
import { formatTerminalId } from '../domain/terminal-id.js';
import { BatchedReads } from './batched-reads.js';
import { compiledOnce } from './compiled-once.js';
import type { Dialect } from './database.js';
import { keyList, oneOf } from './key-list.js';
import type { Executor } from './executor.js';
import { STORE_COLUMNS, StoreDirectory, type StoreEntry } from './store-directory.js';

/** Customers, merchants, stores and terminals: written by the operators' admin CLI, read by the
 * MerchantAPI. Every customer-facing query is scoped by the customer. */
export class OnboardingRepository {
  /** The terminals of device tokens, and of terminal keys, asked of the store together when many
   * are asked at once. */
  private readonly byTokenHash: BatchedReads<string, Terminal>;
  private readonly byKey: BatchedReads<string, Terminal>;
  /** The store, merchant and customer of a terminal found by one of those. */
  private readonly stores: StoreDirectory;
  /** Manufacturers and models as terminals share them: a fleet is mostly a few models, and each
   * row read brings its own copies, which a terminal kept in memory would keep (up to 1,000). */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {
    this.stores = new StoreDirectory(db, dialect);
    this.byTokenHash = new BatchedReads(async (hashes) => {
      const rows = await this.terminalsByTokenHashes(this.db, keyList(this.dialect, hashes));
      return this.withStores(rows, (r) => r.device_token_hash);
    });
    this.byKey = new BatchedReads(async (keys) => {
      const rows = await this.terminalsByKeys(this.db, keyList(this.dialect, keys));
      return this.withStores(rows, (r) => r.terminal_key);
    });
  }

  insertCustomer(name: string, now: number, db: Executor = this.db) {
    return db.insertInto('customers').values({ name, created_at: now }).returning('id').executeTakeFirstOrThrow();
  }

  findCustomer(id: number, db: Executor = this.db) {
    return db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listCustomers() {
    return this.db.selectFrom('customers').selectAll().orderBy('id').execute();
  }

  insertMerchant(customerId: number, name: string, now: number) {
    return this.db
      .insertInto('merchants')
      .values({ customer_id: customerId, name, created_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
  }

  findMerchant(id: number) {
    return this.db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listMerchants(customerId?: number) {
    let q = this.db.selectFrom('merchants').selectAll().orderBy('id');
    if (customerId !== undefined) q = q.where('customer_id', '=', customerId);
    return q.execute();
  }

  insertStore(store: {
    uuid: string;
    merchant_id: number;
    name: string;
    address: string;
    timezone: string;
    currency: string;
    receipt_width: number;
    created_at: number;
  }) {
    return this.db.insertInto('stores').values(store).execute();
  }

  findStore(uuid: string) {
    return this.db.selectFrom('stores').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  listAllStores(merchantId?: number) {
    let q = this.db.selectFrom('stores').selectAll().orderBy('created_at').orderBy('uuid');
    if (merchantId !== undefined) q = q.where('merchant_id', '=', merchantId);
    return q.execute();
  }

  private customerStores() {
    return this.db.selectFrom('stores').innerJoin('merchants', 'merchants.id', 'stores.merchant_id');
  }

  async countStores(customerId: number) {
    const [row] = await this.storeCount(this.db, customerId);
    return Number(row!.n);
  }

  pageStores(customerId: number, offset: number, limit: number) {
    return this.storePage(this.db, customerId, offset, limit);
  }

  // A customer's stores as `GET /stores` reads them on every request, compiled once.
  private readonly storeCount = compiledOnce((customerId: number) =>
    this.customerStores()
      .where('merchants.customer_id', '=', customerId)
      .select((eb) => eb.fn.countAll<number>().as('n')),
  );
  private readonly storePage = compiledOnce((customerId: number, offset: number, limit: number) =>
    this.customerStores()
      .where('merchants.customer_id', '=', customerId)
      .select(STORE_COLUMNS)
      .orderBy('stores.created_at')
      .orderBy('stores.uuid')
      .offset(offset)
      .limit(limit),
  );

  insertTerminal(t: {
    store_uuid: string;
    manufacturer: string;
    model: string;
    serial: string;
    terminal_key: string;
    device_token_hash: string;
    created_at: number;
  }) {
    return this.db.insertInto('terminals').values(t).returning('id').executeTakeFirstOrThrow();
  }

  /** Sets a terminal's device token and answers the hash it replaced (undefined: no such terminal).
   * `lockRow` on PostgreSQL (a SQLite transaction holds the write lock from its start), so that two
   * crossing rotations each name the token they replaced. */
  async replaceDeviceToken(pk: number, hash: string, db: Executor, lockRow: boolean) {
    let q = db.selectFrom('terminals').select('device_token_hash').where('id', '=', pk);
    if (lockRow) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    await db.updateTable('terminals').set({ device_token_hash: hash }).where('id', '=', pk).execute();
    return row.device_token_hash;
  }

  /** A terminal's own row with its last sighting, without its store: one table, planned cheaply. */
  private terminalsAlone() {
    return this.db
      .selectFrom('terminals')
      .select((eb) => [
        'terminals.id',
        'terminals.manufacturer',
        'terminals.model',
        'terminals.serial',
        'terminals.terminal_key',
        'terminals.cloud_integration',
        'terminals.created_at',
        'terminals.store_uuid',
        eb.selectFrom('terminal_presence').select('terminal_presence.last_seen_at').whereRef('terminal_presence.terminal_id', '=', 'terminals.id').as('last_seen_at'),
      ]);
  }

  /** `rows` as terminals, in their order, each with its store (a row's store always exists: a
   * foreign key says so). The stores not yet known are asked together: a page of terminals over
   * many stores is one read of them, not one each. */
  private async terminalsOf(rows: TerminalAloneRow[]): Promise<Terminal[]> {
    const entries = await Promise.all(rows.map((r) => this.storeOf(r)));
    return rows.map((r, i) => terminalOf({ ...r, manufacturer: this.shared(r.manufacturer), model: this.shared(r.model) }, entries[i]!));
  }

  private shared(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size < 1_000) this.names.set(name, name);
    return name;
  }

  /** `rows` as terminals with their stores, by `keyOf`. */
  private async withStores<R extends TerminalAloneRow>(rows: R[], keyOf: (r: R) => string): Promise<Map<string, Terminal>> {
    const terminals = await this.terminalsOf(rows);
    return new Map(rows.map((r, i) => [keyOf(r), terminals[i]!]));
  }

  private async storeOf(r: TerminalAloneRow): Promise<StoreEntry> {
    const entry = await this.stores.get(r.store_uuid);
    if (!entry) throw new Error(`terminal ${r.id}: no store ${r.store_uuid}`);
    return entry;
  }

  // Every MerchantAPI request on a terminal not remembered, and every device token not in the cache, runs one of these.
  private readonly terminalsByKeys = compiledOnce((keys: unknown) => this.terminalsAlone().where(oneOf(this.dialect, 'terminals.terminal_key', keys)));
  private readonly terminalsByTokenHashes = compiledOnce((hashes: unknown) =>
    this.terminalsAlone().select('terminals.device_token_hash').where(oneOf(this.dialect, 'terminals.device_token_hash', hashes)),
  );
  private readonly terminalById = compiledOnce((pk: number) => this.terminalsAlone().where('terminals.id', '=', pk));

  /** The terminal named in a MerchantAPI path, only if it belongs to the customer. Batched with
   * the lookups asked at the same time (payments pushed to many terminals at once). */
  async findCustomerTerminal(customerId: number, terminalKey: string) {
    const terminal = await this.byKey.read(terminalKey);
    return terminal?.customer_id === customerId ? terminal : undefined;
  }

  findTerminalByKey(terminalKey: string): Promise<Terminal | undefined> {
    return this.byKey.read(terminalKey);
  }

  async findTerminalById(pk: number): Promise<Terminal | undefined> {
    return (await this.terminalsOf(await this.terminalById(this.db, pk)))[0];
  }

  /** Batched with the lookups asked at the same time (a fleet's first polls). */
  findTerminalByTokenHash(hash: string): Promise<Terminal | undefined> {
    return this.byTokenHash.read(hash);
  }

  async countTerminals(customerId: number) {
    const row = await this.db
      .selectFrom('terminals')
      .innerJoin('stores', 'stores.uuid', 'terminals.store_uuid')
      .innerJoin('merchants', 'merchants.id', 'stores.merchant_id')
      .where('merchants.customer_id', '=', customerId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async pageTerminals(customerId: number, offset: number, limit: number) {
    const rows = await this.terminalsAlone()
      .where('terminals.store_uuid', 'in', (eb) =>
        eb.selectFrom('stores').innerJoin('merchants', 'merchants.id', 'stores.merchant_id').select('stores.uuid').where('merchants.customer_id', '=', customerId),
      )
      .orderBy('terminals.id')
      .offset(offset)
      .limit(limit)
      .execute();
    return this.terminalsOf(rows);
  }

  async listAllTerminals(storeUuid?: string) {
    let q = this.terminalsAlone().orderBy('terminals.id');
    if (storeUuid !== undefined) q = q.where('terminals.store_uuid', '=', storeUuid);
    return this.terminalsOf(await q.execute());
  }
}

type TerminalAloneRow = Awaited<ReturnType<ReturnType<OnboardingRepository['terminalsAlone']>['executeTakeFirstOrThrow']>>;

/** A terminal of its own row and its store's shared entry. */
function terminalOf(r: TerminalAloneRow, entry: StoreEntry): Terminal {
  return {
    pk: Number(r.id),
    id: formatTerminalId(r),
    manufacturer: r.manufacturer,
    model: r.model,
    serial: r.serial,
    cloud_integration: r.cloud_integration === 1,
    last_seen_at: r.last_seen_at == null ? null : Number(r.last_seen_at),
    customer_id: entry.customer_id,
    merchant: entry.merchant,
    store: entry.store,
  };
}
