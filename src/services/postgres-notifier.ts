import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TRANSACTIONS_CHANNEL } from '../db/migrations.js';
import { AUTH_CHANNEL, type AuthChangeListener, type AuthChanges } from './auth-changes.js';
import { InProcessNotifier, type ChangeWatcher, type TerminalNotifier } from './notifier.js';

/** The listening connection's own heartbeat: what it hears proves it still hears everything. */
const HEARTBEAT_CHANNEL = 'cloudpos_heartbeat';
/** How the listening connection names itself to the server (pg_stat_activity). */
export const LISTENER_NAME = 'cloudpos listener';

export interface PostgresNotifierOptions {
  /** Where to LISTEN: a direct connection, not a pooler in transaction mode (DATABASE_LISTEN_URL). */
  url: string;
  /** The application_name of this instance's pool: the trigger names it in every notification, so
   * that this instance skips what it has already told itself. */
  applicationName: string;
  onError?: (e: Error) => void;
  /** How often the listening connection notifies itself. */
  heartbeatMs?: number;
  /** Silence after which nothing remembered may answer (hints and views are dropped). */
  silenceMs?: number;
  /** Silence after which the listening connection is given up and opened again. */
  deadMs?: number;
}

/** Hears every change of a transaction made by any instance sharing one PostgreSQL database (a
 * trigger NOTIFYs in the commit of the change, migration 0007), and the revocations and rotations
 * any of them or the admin CLI makes, on one connection of its own. This instance's own changes
 * reach its listeners at once, without the round trip, and are skipped when they come back.
 *
 * Remembered answers (idle hints, status views, checked secrets) are trusted only while the
 * listening connection is heard: it notifies itself every second, and after 3 s without a word
 * everything remembered is dropped. Notifications arrive in commit order, so hearing a heartbeat
 * means every change committed before it was heard too. A lost connection is opened again, and
 * every listener is woken to look again. */
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
  private trust = false;

  /** Revoked keys and replaced device tokens, heard on this instance's listening connection. */
  readonly auth: AuthChanges;

  constructor(private readonly options: PostgresNotifierOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.silenceMs = options.silenceMs ?? 3_000;
    this.deadMs = options.deadMs ?? 5_000;
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
    this.setTrust(true);
  }

  private heard(channel: string, payload: string) {
    this.heardAt = Date.now();
    if (!this.trust && this.listening) this.setTrust(true);
    if (channel === TRANSACTIONS_CHANNEL) {
      // op, terminal, transaction, application_name (last: it may hold anything but a tab)
      const [op, terminal, transaction, from] = payload.split('\t', 4);
      if (from === this.options.applicationName || !terminal || !transaction) return;
      if (op === 'INSERT') this.local.notify(Number(terminal), transaction);
      else this.local.changed(Number(terminal), transaction);
    } else if (channel === AUTH_CHANNEL) {
      if (payload) for (const listener of this.authListeners) listener(payload);
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
    if (Date.now() - this.heardAt > this.deadMs) {
      this.onError(new Error('the listening connection does not answer'));
      this.lost();
      // 'end' follows, and with it the reconnection.
      void client.end().catch(() => {});
      return;
    }
    client.query(`select pg_notify('${HEARTBEAT_CHANNEL}', $1)`, [this.origin]).catch(() => {});
  }

  notify(terminalId: number, transactionId?: string) {
    this.local.notify(terminalId, transactionId);
  }

  changed(terminalId: number, transactionId: string) {
    this.local.changed(terminalId, transactionId);
  }

  subscribe(terminalId: number, listener: () => void) {
    this.local.subscribe(terminalId, listener);
  }

  unsubscribe(terminalId: number, listener: () => void) {
    this.local.unsubscribe(terminalId, listener);
  }

  watch(listener: ChangeWatcher) {
    return this.local.watch(listener);
  }

  async close() {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.lost();
    await this.local.close();
    await this.client?.end().catch(() => {});
  }
}
