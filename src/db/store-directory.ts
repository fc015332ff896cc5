import type { Store } from '../domain/terminal.js';
import { BatchedReads } from './batched-reads.js';
import { compiledOnce } from './compiled-once.js';
import type { Dialect } from './database.js';
import type { Executor } from './executor.js';
import { keyList, oneOf } from './key-list.js';

/** A store with the merchant and customer it belongs to: what every terminal of the store shares. */
export interface StoreEntry {
  store: Store;
  merchant: { id: number; name: string };
  customer_id: number;
}

/** A store's columns with its merchant's, as the directory and `GET /stores` read them. */
export const STORE_COLUMNS = [
  'stores.uuid',
  'stores.name',
  'stores.address',
  'stores.timezone',
  'stores.currency',
  'stores.receipt_width',
  'merchants.id as merchant_id',
  'merchants.name as merchant_name',
] as const;

/** How many stores the directory keeps: a fleet's terminals share far fewer. */
const KEPT_STORES = 100_000;

/** Stores by uuid, from memory once read. Correct without any notification because stores and
 * merchants are only ever inserted: nothing the entry holds changes once registered (a migration
 * or a command that updates or deletes a store or merchant must clear this on every instance).
 * A terminal's lookup then reads its own row alone: PostgreSQL plans a one-table lookup by key in
 * a tenth of the time or less of the four-table join it replaced, and executes it without scanning the stores.
 * Every terminal of a store holds the same entry, so a fleet keeps one copy of each store's strings. */
export class StoreDirectory {
  private readonly kept = new Map<string, StoreEntry>();
  private readonly batched: BatchedReads<string, StoreEntry>;

  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {
    this.batched = new BatchedReads(async (uuids) => {
      const rows = await this.storesByUuids(this.db, keyList(this.dialect, uuids));
      return new Map(rows.map((r) => [r.uuid, this.keep(r)]));
    });
  }

  /** The store of `uuid` (a terminal's: it exists, the foreign key says so). */
  get(uuid: string): StoreEntry | Promise<StoreEntry | undefined> {
    return this.kept.get(uuid) ?? this.batched.read(uuid);
  }

  private keep(r: StoreRow): StoreEntry {
    const known = this.kept.get(r.uuid);
    if (known) return known;
    const entry: StoreEntry = {
      store: { uuid: r.uuid, name: r.name, address: r.address, timezone: r.timezone, currency: r.currency, receipt_width: Number(r.receipt_width) },
      merchant: { id: Number(r.merchant_id), name: r.merchant_name },
      customer_id: Number(r.customer_id),
    };
    if (this.kept.size >= KEPT_STORES) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(r.uuid, entry);
    return entry;
  }

  private readonly storesByUuids = compiledOnce((uuids: unknown) =>
    this.db
      .selectFrom('stores')
      .innerJoin('merchants', 'merchants.id', 'stores.merchant_id')
      .where(oneOf(this.dialect, 'stores.uuid', uuids))
      .select([...STORE_COLUMNS, 'merchants.customer_id']),
  );
}

type StoreRow = Awaited<ReturnType<StoreDirectory['storesByUuids']>>[number];
