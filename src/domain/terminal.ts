/** A shop of a merchant, as receipts, day totals and terminals see it. */
export interface StoreRef {
  uuid: string;
  name: string;
}

export interface Store extends StoreRef {
  address: string;
  /** IANA time zone: receipts and day totals are in local time */
  timezone: string;
  /** ISO 4217: the one currency its terminals accept */
  currency: string;
  receipt_width: number;
}

/** A registered card terminal with the store and merchant it serves. `pk` is the platform's
 * internal key; `id` is the public `{manufacturer}-{model}-{serial}` that paths use. */
export interface Terminal {
  pk: number;
  id: string;
  manufacturer: string;
  model: string;
  serial: string;
  cloud_integration: boolean;
  /** as last written to the database; presence knows later sightings */
  last_seen_at: number | null;
  customer_id: number;
  merchant: { id: number; name: string };
  store: Store;
}
