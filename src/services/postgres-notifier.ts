import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { SELF_ANNOUNCING_PREFIX, TRANSACTIONS_CHANNEL } from '../db/later-migrations.js';
import type { Transaction } from '../domain/transaction.js';
import { AUTH_CHANNEL, type AuthChangeListener, type AuthChanges } from './auth-changes.js';
import { announcementPayload, parseAnnouncement, type Announcement } from './change-announcements.js';
import { InProcessNotifier, type ChangeWatcher, type PollListener, type TerminalNotifier } from './notifier.js';

/** The listening connection's own heartbeat: what it hears proves it still hears everything. */
const HEARTBEAT_CHANNEL = 'cloudpos_heartbeat';
/** What follows an instance's origin in a heartbeat: it may have failed to tell a change, or it stops. */
const RESET = 'reset';
const BYE = 'bye';
/** How the listening connection names itself to the server (pg_stat_activity). */
export const LISTENER_NAME = 'cloudpos listener';

export interface PostgresNotifierOptions {
  /** Where to LISTEN: a direct connection, not a pooler in transaction mode (DATABASE_LISTEN_URL). */
  url: string;
  /** The application_name of this instance's pool: every notification names its writer by it, so
   * that this instance skips what it has already told itself. Starting with SELF_ANNOUNCING_PREFIX,
   * this instance announces its own changes (the trigger skips them); otherwise the trigger does. */
  applicationName: string;
  onError?: (e: Error) => void;
  /** How often the listening connection notifies itself. */
  heartbeatMs?: number;
  /** Silence after which nothing remembered may answer (hints and views are dropped). */
  silenceMs?: number;
  /** Silence after which the listening connection is given up and opened again. */
  deadMs?: number;
}

/** Hears every change of a transaction made by any instance sharing one PostgreSQL database, and
 * the revocations and rotations any of them or the admin CLI makes, on one connection of its own.
 * This instance's own changes reach its listeners at once, without the round trip, and are skipped
 * when they come back.
 *
 * How a change is announced: this instance tells the others itself, right after the commit, on its
 * listening connection (the changes of one event-loop turn in one `pg_notify` statement). Not in
 * the commit of the change: PostgreSQL holds one cluster-wide lock from a notifying transaction's
 * commit until its commit record is flushed, so every durable notifying commit waited for the one
 * before it (the pickup's tail); a transaction that only notifies writes nothing to flush and holds
 * it for microseconds. Writers that do not announce their own changes (an older version, a tool)
 * are announced by the trigger (migrations 0007 and 0008), which skips this version's connections.
 *
 * Remembered answers (idle hints, status views, checked secrets) are trusted only while the
 * listening connection is heard: it notifies itself every second, and after 3 s without a word
 * everything remembered is dropped. Every instance hears the others' heartbeats too: an instance
 * that falls silent (it crashed between a commit and its announcement, or lost its connection) or
 * announces that it may have failed to tell a change (`reset`, after its connection came back)
 * makes the others forget what they remember and wake every held poll, so a change is never hidden
 * for longer than that silence (3 s after the peer's own connection proves it is heard). A lost
 * connection is opened again, and every listener is woken to look again. */
export class PostgresNotifier implements TerminalNotifier {
  private readonly local = new InProcessNotifier();
  private readonly origin = randomUUID();
  private readonly authListeners = new Set<AuthChangeListener>();
  private readonly heartbeatMs: number;
  private readonly silenceMs: number;
  private readonly deadMs: number;
  private client: pg.Client | undefined;
  private listening = false;
  private closed = false;
  private retryMs = 100;
  private heartbeat: NodeJS.Timeout | undefined;
  private heardAt = 0;
  /** When this instance last heard its own heartbeat: the clock the others' silence is read against. */
  private selfHeardAt = 0;
  private trust = false;
  /** The other instances (by origin) and when each was last heard. */
  private readonly peers = new Map<string, number>();
  /** This instance's changes not yet told to the others, by terminal and transaction ('INSERT'
   * wakes the terminal's polls, 'UPDATE' only tells what remembers it). */
  private outgoing = new Map<string, Announcement>();
  private sending: Promise<void> | undefined;
  private scheduled = false;
  /** A change could not be told: the others must forget, once the connection is back. */
  private owesReset = false;
  /** Whether this instance's pool announces its own changes (otherwise the trigger does). */
  private readonly announces: boolean;

  /** Revoked keys and replaced device tokens, heard on this instance's listening connection. */
  readonly auth: AuthChanges;

  constructor(private readonly options: PostgresNotifierOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.silenceMs = options.silenceMs ?? 3_000;
    this.deadMs = options.deadMs ?? 5_000;
    this.announces = options.applicationName.startsWith(SELF_ANNOUNCING_PREFIX);
    const trusted = () => this.trusted();
    this.auth = {
      watch: (listener) => {
        this.authListeners.add(listener);
        return () => void this.authListeners.delete(listener);
      },
      get live() {
        return trusted();
      },
    };
  }

  async start() {
    await this.listen();
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  private onError(e: Error) {
    this.options.onError?.(e);
  }

  private async listen() {
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true, application_name: LISTENER_NAME });
    client.on('notification', (msg) => this.heard(msg.channel, msg.payload ?? ''));
    client.on('error', (e) => {
      this.onError(e);
      void client.end().catch(() => {});
    });
    let established = false;
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.lost();
      // A connection that never listened is the caller's failure to handle (start, reconnect).
      if (established && !this.closed) setTimeout(() => void this.reconnect(), this.retryMs).unref();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${TRANSACTIONS_CHANNEL}; LISTEN ${AUTH_CHANNEL}; LISTEN ${HEARTBEAT_CHANNEL}`);
    } catch (e) {
      if (this.client === client) this.client = undefined;
      await client.end().catch(() => {});
      throw e;
    }
    established = true;
    this.retryMs = 100;
    this.listening = true;
    // Anything remembered before now may have changed unheard: start afresh, then trust again.
    this.heardAt = Date.now();
    this.selfHeardAt = this.heardAt;
    this.peers.clear();
    this.setTrust(true);
    if (this.owesReset) this.sendReset(client);
  }

  private heard(channel: string, payload: string) {
    const now = Date.now();
    this.heardAt = now;
    if (!this.trust && this.listening) this.setTrust(true);
    if (channel === TRANSACTIONS_CHANNEL) {
      const { op, terminalPk, transaction, from, created } = parseAnnouncement(payload);
      if (from === this.options.applicationName || terminalPk === undefined) return;
      if (op === 'INSERT') this.local.notify(terminalPk, transaction, created);
      else if (transaction) this.local.changed(terminalPk, transaction);
    } else if (channel === AUTH_CHANNEL) {
      if (payload) for (const listener of this.authListeners) listener(payload);
    } else if (channel === HEARTBEAT_CHANNEL) {
      const [origin, what] = payload.split('\t', 2);
      if (!origin) return;
      if (origin === this.origin) {
        this.selfHeardAt = now;
      } else if (what === BYE) {
        // It told everything before saying so, on the same connection: nothing is owed.
        this.peers.delete(origin);
      } else {
        this.peers.set(origin, now);
        if (what === RESET) this.local.notifyAll();
      }
    }
  }

  /** Another instance silent for longer than `silenceMs` while this one hears itself may have
   * committed a change it never told: forget everything and look again. */
  private checkPeers() {
    for (const [origin, at] of this.peers) {
      if (this.selfHeardAt - at <= this.silenceMs) continue;
      this.peers.delete(origin);
      this.onError(new Error(`instance ${origin.slice(0, 8)} fell silent: everything remembered is looked up again`));
      this.local.notifyAll();
    }
  }

  /** Trusting again or no longer: either way whatever was remembered is forgotten at that moment. */
  private setTrust(trust: boolean) {
    this.trust = trust;
    for (const listener of this.authListeners) listener(null);
    this.local.forget();
  }

  trusted() {
    if (!this.trust) return false;
    if (Date.now() - this.heardAt <= this.silenceMs) return true;
    this.setTrust(false);
    return false;
  }

  /** Changes may go unheard from now until the connection is back. */
  private lost() {
    this.listening = false;
    if (this.trust) this.setTrust(false);
  }

  private async reconnect() {
    if (this.closed || this.client) return;
    try {
      await this.listen();
      this.local.notifyAll();
    } catch (e) {
      this.onError(e as Error);
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      setTimeout(() => void this.reconnect(), this.retryMs).unref();
    }
  }

  /** Notifies itself on the listening connection; a connection silent for too long is given up
   * (a connection that died without a word would otherwise leave changes unheard). */
  private beat() {
    const client = this.client;
    this.trusted();
    if (!client || !this.listening) return;
    this.checkPeers();
    if (Date.now() - this.heardAt > this.deadMs) {
      this.onError(new Error('the listening connection does not answer'));
      this.lost();
      // 'end' follows, and with it the reconnection.
      void client.end().catch(() => {});
      return;
    }
    client.query(`select pg_notify('${HEARTBEAT_CHANNEL}', $1)`, [this.origin]).catch(() => {});
  }

  notify(terminalId: number, transactionId?: string, created?: Transaction) {
    this.local.notify(terminalId, transactionId, created);
    this.tell('INSERT', terminalId, transactionId ?? '', created);
  }

  changed(terminalId: number, transactionId: string) {
    this.local.changed(terminalId, transactionId);
    this.tell('UPDATE', terminalId, transactionId);
  }

  /** Queues a committed change for the others; the changes of one turn of the event loop go
   * together. A wake-up ('INSERT') also tells what an 'UPDATE' of the same transaction would. A
   * creation goes with the transaction as committed, so that a poll held on another instance
   * moves it without reading it first (its move's compare-and-set still checks it); changed again
   * in the same turn, it goes without. */
  private tell(op: 'INSERT' | 'UPDATE', terminalId: number, transactionId: string, created?: Transaction) {
    if (!this.announces) return;
    const key = `${terminalId}\t${transactionId}`;
    const queued = this.outgoing.get(key);
    if (op === 'INSERT') this.outgoing.set(key, { op, ...(created && !queued && { created }) });
    else if (queued) delete queued.created;
    else this.outgoing.set(key, { op });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  /** Sends what is queued, one statement at a time on the listening connection (after the
   * heartbeat's, in order). A statement that fails, or a connection that is not there, leaves the
   * others a `reset` to hear once it is back. */
  private async send(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.outgoing.size === 0) return;
    const batch = this.outgoing;
    this.outgoing = new Map();
    const client = this.client;
    if (!client || !this.listening) {
      this.owesReset = true;
      return;
    }
    const from = this.options.applicationName;
    const payloads: string[] = [];
    for (const [key, told] of batch) payloads.push(announcementPayload(told, key, from));
    this.sending = client
      .query(`select pg_notify('${TRANSACTIONS_CHANNEL}', p) from unnest($1::text[]) p`, [payloads])
      .then(
        () => {},
        (e: Error) => {
          this.owesReset = true;
          this.onError(e);
        },
      )
      .finally(() => (this.sending = undefined));
    await this.sending;
    // Failed on a connection that is still there: tell the others at once.
    if (this.owesReset && this.client === client && this.listening) this.sendReset(client);
  }

  private sendReset(client: pg.Client) {
    this.owesReset = false;
    client.query(`select pg_notify('${HEARTBEAT_CHANNEL}', $1)`, [`${this.origin}\t${RESET}`]).catch((e: Error) => {
      this.owesReset = true;
      this.onError(e);
    });
  }

  subscribe(terminalId: number, listener: PollListener) {
    this.local.subscribe(terminalId, listener);
  }

  unsubscribe(terminalId: number, listener: PollListener) {
    this.local.unsubscribe(terminalId, listener);
  }

  watch(listener: ChangeWatcher) {
    return this.local.watch(listener);
  }

  async close() {
    this.closed = true;
    clearInterval(this.heartbeat);
    // What is still to tell goes first, then the goodbye on the same connection.
    await this.send();
    const client = this.client;
    if (client && this.listening && !this.owesReset) {
      await client.query(`select pg_notify('${HEARTBEAT_CHANNEL}', $1)`, [`${this.origin}\t${BYE}`]).catch(() => {});
    }
    this.lost();
    await this.local.close();
    await this.client?.end().catch(() => {});
  }
}
