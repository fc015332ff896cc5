import type { Generated, Insertable, Selectable } from 'kysely';

/** Times are epoch milliseconds (integers sort and compare the same on SQLite and PostgreSQL);
 * money is an integer count of minor units; booleans are 0/1. */
export interface CustomersTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface MerchantsTable {
  id: Generated<number>;
  customer_id: number;
  name: string;
  created_at: number;
}

export interface StoresTable {
  uuid: string;
  merchant_id: number;
  name: string;
  address: string;
  timezone: string;
  currency: string;
  receipt_width: number;
  created_at: number;
}

export interface TerminalsTable {
  id: Generated<number>;
  store_uuid: string;
  manufacturer: string;
  model: string;
  serial: string;
  /** lower-cased `{manufacturer}-{model}-{serial}`: paths match case-insensitively */
  terminal_key: string;
  device_token_hash: string;
  cloud_integration: Generated<number>;
  /** last system trace audit number handed out, 1..999999 then wraps */
  last_stan: Generated<number>;
  created_at: number;
}

/** When each terminal was last seen, as flushed from the instances' memory. */
export interface TerminalPresenceTable {
  terminal_id: number;
  last_seen_at: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  customer_id: number;
  label: string;
  /** the key's readable start, for operators; never enough to use it */
  prefix: string;
  key_hash: string;
  valid_from: number | null;
  valid_until: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  created_at: number;
}

export interface TransactionsTable {
  id: string;
  customer_id: number;
  terminal_id: number;
  type: string;
  status: string;
  stage: string;
  result: string | null;
  cancel_reason: string | null;
  merchant_order_reference: string;
  amount_minor: number;
  currency: string;
  captured_minor: number | null;
  captured_at: number | null;
  reference_id: string | null;
  brand: string | null;
  card_last4: string | null;
  entry_mode: string | null;
  stan: string | null;
  authorization_code: string | null;
  receipt: string | null;
  merchant_receipt: string | null;
  acquirer_reference: string | null;
  outcome_hash: string | null;
  created_at: number;
  expires_at: number;
  transaction_at: number | null;
  updated_at: number;
}

export interface TransactionEventsTable {
  id: Generated<number>;
  transaction_id: string;
  at: number;
  actor: string;
  event: string;
  from_status: string | null;
  from_stage: string | null;
  to_status: string;
  to_stage: string;
  detail: string | null;
}

export interface IdempotencyKeysTable {
  customer_id: number;
  key: string;
  request_hash: string;
  /** null while the first request is still being handled */
  response_status: number | null;
  response_body: string | null;
  response_headers: string | null;
  created_at: number;
}

export interface Tables {
  customers: CustomersTable;
  merchants: MerchantsTable;
  stores: StoresTable;
  terminals: TerminalsTable;
  terminal_presence: TerminalPresenceTable;
  api_keys: ApiKeysTable;
  transactions: TransactionsTable;
  transaction_events: TransactionEventsTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type Customer = Selectable<CustomersTable>;
export type Merchant = Selectable<MerchantsTable>;
export type StoreRow = Selectable<StoresTable>;
export type Terminal = Selectable<TerminalsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type NewTransaction = Insertable<TransactionsTable>;
