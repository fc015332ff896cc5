import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './database.js';
import { laterMigrations } from './later-migrations.js';

/** Migrations live in code so the compiled package carries them; each works on both dialects.
 * These make the schema as first made (0001–0006); the changes since are in later-migrations.ts. */
function migrations(dialect: Dialect): Record<string, Migration> {
  // SQLite's INTEGER PRIMARY KEY is the rowid; PostgreSQL wants an identity column.
  const serial = (db: Kysely<any>, table: string) =>
    db.schema.createTable(table).addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) =>
      dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
    );

  return {
    '0001_customers_stores_terminals_keys': {
      async up(db) {
        await serial(db, 'customers')
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await serial(db, 'merchants')
          .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('merchants_customer').on('merchants').column('customer_id').execute();
        await db.schema
          .createTable('stores')
          .addColumn('uuid', 'text', (c) => c.primaryKey())
          .addColumn('merchant_id', 'bigint', (c) => c.notNull().references('merchants.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('timezone', 'text', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('receipt_width', 'integer', (c) => c.notNull().defaultTo(24))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('stores_merchant').on('stores').column('merchant_id').execute();
        await serial(db, 'terminals')
          .addColumn('store_uuid', 'text', (c) => c.notNull().references('stores.uuid'))
          .addColumn('manufacturer', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('serial', 'text', (c) => c.notNull())
          .addColumn('terminal_key', 'text', (c) => c.notNull().unique())
          .addColumn('device_token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('cloud_integration', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('last_seen_at', 'bigint')
          .addColumn('last_stan', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('terminals_store').on('terminals').column('store_uuid').execute();
        await serial(db, 'api_keys')
          .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('valid_from', 'bigint')
          .addColumn('valid_until', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('api_keys_customer').on('api_keys').column('customer_id').execute();
      },
    },
    '0002_transactions': {
      async up(db) {
        await db.schema
          .createTable('transactions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
          .addColumn('terminal_id', 'bigint', (c) => c.notNull().references('terminals.id'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('stage', 'text', (c) => c.notNull())
          .addColumn('result', 'text')
          .addColumn('cancel_reason', 'text')
          .addColumn('merchant_order_reference', 'text', (c) => c.notNull())
          .addColumn('amount_minor', 'bigint', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('captured_minor', 'bigint')
          .addColumn('reference_id', 'text', (c) => c.references('transactions.id'))
          .addColumn('brand', 'text')
          .addColumn('card_last4', 'text')
          .addColumn('entry_mode', 'text')
          .addColumn('stan', 'text')
          .addColumn('authorization_code', 'text')
          .addColumn('receipt', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('transaction_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('transactions_terminal_created')
          .on('transactions')
          .columns(['terminal_id', 'created_at'])
          .execute();
        await db.schema.createIndex('transactions_reference').on('transactions').column('reference_id').execute();
        await db.schema
          .createIndex('transactions_terminal_order_ref')
          .on('transactions')
          .columns(['terminal_id', 'merchant_order_reference'])
          .execute();
        // The database itself keeps the rule "one payment at a time per terminal".
        await db.schema
          .createIndex('transactions_one_active_per_terminal')
          .on('transactions')
          .column('terminal_id')
          .unique()
          .where(sql.ref('stage'), '<>', 'DONE')
          .execute();
        await db.schema
          .createIndex('transactions_pending_expiry')
          .on('transactions')
          .column('expires_at')
          .where(sql.ref('stage'), '=', 'PENDING')
          .execute();
        await serial(db, 'transaction_events')
          .addColumn('transaction_id', 'text', (c) => c.notNull().references('transactions.id'))
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('from_status', 'text')
          .addColumn('from_stage', 'text')
          .addColumn('to_status', 'text', (c) => c.notNull())
          .addColumn('to_stage', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('transaction_events_tx').on('transaction_events').column('transaction_id').execute();
        await db.schema
          .createTable('idempotency_keys')
          .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('request_hash', 'text', (c) => c.notNull())
          .addColumn('response_status', 'integer')
          .addColumn('response_body', 'text')
          .addColumn('response_headers', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['customer_id', 'key'])
          .execute();
        await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
      },
    },
    '0003_terminal_reported_outcomes': {
      async up(db) {
        // The merchant's copy beside the cardholder's (`receipt`); the acquirer's own reference,
        // kept for capture, release and reversal; what the terminal reported, to tell a repeated
        // report from a conflicting one; when a pre-authorization was captured (its day's totals).
        for (const column of ['merchant_receipt', 'acquirer_reference', 'outcome_hash']) {
          await db.schema.alterTable('transactions').addColumn(column, 'text').execute();
        }
        await db.schema.alterTable('transactions').addColumn('captured_at', 'bigint').execute();
        await db.schema.createIndex('transactions_terminal_captured').on('transactions').columns(['terminal_id', 'captured_at']).execute();
      },
    },
    '0005_terminal_presence': {
      async up(db) {
        // Last-seen times in a table of their own: flushing a fleet's sightings then never locks
        // the terminal rows that creating a transaction locks. No foreign key on purpose: on
        // PostgreSQL its check would share-lock those rows too.
        await db.schema
          .createTable('terminal_presence')
          .addColumn('terminal_id', 'bigint', (c) => c.primaryKey())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .execute();
        await sql`insert into terminal_presence (terminal_id, last_seen_at) select id, last_seen_at from terminals where last_seen_at is not null`.execute(db);
        await db.schema.alterTable('terminals').dropColumn('last_seen_at').execute();
      },
    },
    '0006_webhooks_and_events': {
      async up(db) {
        // The outbox: every change a customer can hear of, written in the database transaction of
        // the change. `subject` is what `sequence` counts for (a transaction, a terminal);
        // `dispatched` 0 means its deliveries are still to be made for the subscribed endpoints.
        await db.schema
          .createTable('events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('customer_id', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('dispatched', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createIndex('events_subject_sequence').on('events').columns(['subject', 'sequence']).unique().execute();
        await db.schema.createIndex('events_customer_created').on('events').columns(['customer_id', 'created_at']).execute();
        await db.schema.createIndex('events_customer_type_created').on('events').columns(['customer_id', 'type', 'created_at']).execute();
        await db.schema.createIndex('events_created').on('events').column('created_at').execute();
        await db.schema.createIndex('events_undispatched').on('events').column('created_at').where(sql.ref('dispatched'), '=', 0).execute();
        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
          .addColumn('url', 'text', (c) => c.notNull())
          // a JSON array of event types; null: every type
          .addColumn('events', 'text')
          .addColumn('description', 'text')
          // AES-256-GCM under SECRET_ENCRYPTION_KEY; the replaced secret signs beside it until previous_secret_until
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_until', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhook_endpoints_customer').on('webhook_endpoints').columns(['customer_id', 'created_at']).execute();
        // One delivery of one event to one endpoint; its attempts below. No foreign keys: retention
        // deletes old rows in bulk, and a claim never waits on a key check.
        await serial(db, 'webhook_deliveries')
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('endpoint_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('lease_until', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').column('next_attempt_at').where(sql.ref('status'), '=', 'PENDING').execute();
        await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').column('endpoint_id').execute();
        await db.schema.createIndex('webhook_deliveries_created').on('webhook_deliveries').column('created_at').execute();
        await serial(db, 'webhook_attempts')
          .addColumn('delivery_id', 'bigint', (c) => c.notNull())
          .addColumn('endpoint_id', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('error', 'text')
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhook_attempts_endpoint').on('webhook_attempts').columns(['endpoint_id', 'id']).execute();
        await db.schema.createIndex('webhook_attempts_at').on('webhook_attempts').column('at').execute();
        // Whether the terminal's last online/offline event said online: the edge that yields the next one.
        await db.schema.alterTable('terminal_presence').addColumn('online', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => ({ ...migrations(dialect), ...laterMigrations(dialect) }) };
}
