import { sql, type Migration } from 'kysely';
import type { Dialect } from './database.js';

/** The PostgreSQL channel on which every change of a transaction is announced, in its commit. */
export const TRANSACTIONS_CHANNEL = 'cloudpos_transactions';

/** How the connections of an instance that announces its own changes after their commit begin
 * their application_name: the trigger leaves their changes to them (migration 0008). */
export const SELF_ANNOUNCING_PREFIX = 'cloudpos: ';

/** The migrations after the first schema (migrations.ts): the announcement of changes in their
 * commit, and the indexes and tables changed since. Each works on both dialects. */
export function laterMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0007_notify_transaction_changes': {
      async up(db) {
        // Every change of a transaction is announced in the commit that makes it, whoever makes it:
        // the operation, the terminal, the transaction and the writer's application_name (each
        // instance names its pool and skips its own). SQLite serves one instance, which hears
        // itself.
        if (dialect !== 'postgres') return;
        await sql`create function cloudpos_notify_transaction_change() returns trigger language plpgsql as $$
          begin
            perform pg_notify(${sql.lit(TRANSACTIONS_CHANNEL)}, tg_op || chr(9) || new.terminal_id || chr(9) || new.id || chr(9) || current_setting('application_name'));
            return null;
          end $$`.execute(db);
        await sql`create trigger transactions_notify_change after insert or update on transactions
          for each row execute function cloudpos_notify_transaction_change()`.execute(db);
      },
    },
    '0008_changes_announced_after_commit': {
      async up(db) {
        // PostgreSQL holds one cluster-wide lock from a notifying transaction's commit until its
        // commit record is flushed, so durable commits that notify wait for each other. Instances
        // of this version announce their changes themselves, right after the commit, in a
        // transaction that only notifies (nothing to flush); the trigger keeps announcing every
        // other writer's (an older version during a rolling upgrade, a tool), as before.
        if (dialect !== 'postgres') return;
        await sql`create or replace function cloudpos_notify_transaction_change() returns trigger language plpgsql as $$
          begin
            if current_setting('application_name') not like ${sql.lit(`${SELF_ANNOUNCING_PREFIX}%`)} then
              perform pg_notify(${sql.lit(TRANSACTIONS_CHANNEL)}, tg_op || chr(9) || new.terminal_id || chr(9) || new.id || chr(9) || current_setting('application_name'));
            end if;
            return null;
          end $$`.execute(db);
      },
    },
    '0009_cheaper_delivery_indexes': {
      async up(db) {
        // Every delivery row is written with the change it reports and updated twice (claimed,
        // then recorded; the second leaves the partial index of due rows, so it updates every
        // other index). On PostgreSQL, the btree on its endpoint served only an endpoint's
        // deletion, which finds the pending ones through that partial index; the ones on when
        // deliveries and attempts were made serve only the hourly retention, for which a BRIN
        // index (rows are appended in time order) costs next to nothing to keep. SQLite writes
        // its deliveries in the worker's batched commit, and has no BRIN: it keeps them.
        if (dialect !== 'postgres') return;
        await db.schema.dropIndex('webhook_deliveries_endpoint').execute();
        await db.schema.dropIndex('webhook_deliveries_created').execute();
        await db.schema.createIndex('webhook_deliveries_created').on('webhook_deliveries').using('brin').column('created_at').execute();
        await db.schema.dropIndex('webhook_attempts_at').execute();
        await db.schema.createIndex('webhook_attempts_at').on('webhook_attempts').using('brin').column('at').execute();
      },
    },
    '0010_sqlite_deliveries_with_their_event': {
      async up(db) {
        // SQLite made an event's deliveries in the webhook worker's next commit, and marked the
        // event dispatched there: that update wrote every event's page (a payment's event is half
        // a page) to the log a second time, and the worker's commits took longer than the
        // payments'. Now the event's insert makes them, in the commit of the change, as on
        // PostgreSQL (where the statement that inserts the event inserts them): events are
        // inserted dispatched. Those an older version left undispatched are still dispatched by
        // the worker's sweep.
        if (dialect !== 'sqlite') return;
        await sql`create trigger events_deliveries after insert on events
          begin
            insert into webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, lease_until, created_at)
            select new.id, w.id, 'PENDING', 0, new.created_at, null, new.created_at
              from webhook_endpoints w
             where w.customer_id = new.customer_id
               and (w.events is null or exists (select 1 from json_each(w.events) where value = new.type));
          end`.execute(db);
      },
    },
    '0011_attempts_by_endpoint_and_time': {
      async up(db) {
        // An endpoint's attempts are listed newest first from the lists' horizon on, and counted
        // by time (log-counts.ts): one index by endpoint and time serves both, where the one by
        // endpoint and id made every count read all of the endpoint's attempts.
        await db.schema.dropIndex('webhook_attempts_endpoint').execute();
        await db.schema.createIndex('webhook_attempts_endpoint_at').on('webhook_attempts').columns(['endpoint_id', 'at', 'id']).execute();
      },
    },
    '0012_cheaper_creation': {
      async up(db) {
        // A creation on PostgreSQL writes three rows, with fourteen index entries, in one
        // statement. Three of those served rows a new payment never matches: refunds are found by
        // the purchase they reference and day totals by when a pre-authorization was captured, and
        // both are null on a new purchase, so partial indexes leave its row out of them; the
        // events' own time serves only the retention, for which BRIN costs next to nothing to
        // keep (as 0009 did for deliveries). The trigger that announces other writers' changes
        // (0008) is no longer called at all for this platform's own writes: its condition is
        // checked before the call, not inside it. SQLite keeps its indexes: it has no BRIN, and
        // its creation is not behind its target.
        if (dialect !== 'postgres') return;
        await db.schema.dropIndex('transactions_reference').execute();
        await db.schema.createIndex('transactions_reference').on('transactions').column('reference_id').where(sql.ref('reference_id'), 'is not', null).execute();
        await db.schema.dropIndex('transactions_terminal_captured').execute();
        await db.schema
          .createIndex('transactions_terminal_captured')
          .on('transactions')
          .columns(['terminal_id', 'captured_at'])
          .where(sql.ref('captured_at'), 'is not', null)
          .execute();
        await db.schema.dropIndex('events_created').execute();
        await db.schema.createIndex('events_created').on('events').using('brin').column('created_at').execute();
        await sql`drop trigger transactions_notify_change on transactions`.execute(db);
        await sql`create trigger transactions_notify_change after insert or update on transactions for each row
          when (current_setting('application_name') not like ${sql.lit(`${SELF_ANNOUNCING_PREFIX}%`)})
          execute function cloudpos_notify_transaction_change()`.execute(db);
      },
    },
    '0013_no_key_checks_on_payments': {
      async up(db) {
        // Every payment a customer's systems create took a key-share lock on the customer's row
        // (and on its terminal's, and a transition's history row on its payment's): concurrent
        // creations of one customer share that lock through a multixact each newcomer rewrites,
        // and the checks ran as queries of their own. Measured apart, 8 concurrent creators: 11%
        // of PostgreSQL's CPU per creation. The rows they point to are never deleted, and every id
        // written comes from a row the same request read (the history's from the row the same
        // statement writes), so the keys checked nothing that could fail. SQLite keeps its
        // checks: they take no lock there.
        if (dialect !== 'postgres') return;
        await sql`alter table transactions drop constraint transactions_customer_id_fkey, drop constraint transactions_terminal_id_fkey`.execute(db);
        await sql`alter table transaction_events drop constraint transaction_events_transaction_id_fkey`.execute(db);
      },
    },
    '0014_sqlite_log_rows_in_insertion_order': {
      async up(db) {
        // With webhooks on, a payment's commits wrote each delivery to three indexes and each
        // attempt to two, where PostgreSQL keeps one BRIN for their time (0009, 0012). Events,
        // deliveries and attempts are appended in time order, so SQLite's retention walks them
        // from the first row (delete-in-slices.ts) instead of through an index by time, and an
        // endpoint's deletion finds its pending deliveries through the index of due ones. An
        // event is written with one index entry fewer, a delivery with two fewer, an attempt with
        // one fewer.
        if (dialect !== 'sqlite') return;
        await db.schema.dropIndex('events_created').execute();
        await db.schema.dropIndex('webhook_deliveries_endpoint').execute();
        await db.schema.dropIndex('webhook_deliveries_created').execute();
        await db.schema.dropIndex('webhook_attempts_at').execute();
      },
    },
  };
}
