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
  /** 1 when the terminal's last presence event was terminal.online */
  online: Generated<number>;
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

/** The outbox and the event log (GET /events). */
export interface EventsTable {
  id: string;
  customer_id: number;
  type: string;
  /** `transaction:{id}` or `terminal:{pk}`: what `sequence` counts transitions of */
  subject: string;
  sequence: number;
  /** the event's `data`, as JSON */
  data: string;
  created_at: number;
  /** 1 once its deliveries to the subscribed endpoints are made */
  dispatched: Generated<number>;
}

export interface WebhookEndpointsTable {
  id: string;
  customer_id: number;
  url: string;
  /** JSON array of event types; null receives every type */
  events: string | null;
  description: string | null;
  /** encrypted (AES-256-GCM) */
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  event_id: string;
  endpoint_id: string;
  /** PENDING, DELIVERED or FAILED */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  /** PostgreSQL: claimed by an instance until then */
  lease_until: number | null;
  created_at: number;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** DELIVERED, RETRYING or FAILED */
  outcome: string;
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
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

export type Customer = Selectable<CustomersTable>;
export type Merchant = Selectable<MerchantsTable>;
export type StoreRow = Selectable<StoresTable>;
export type Terminal = Selectable<TerminalsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type NewTransaction = Insertable<TransactionsTable>;
