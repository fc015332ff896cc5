import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Tables } from '../db/schema.js';
import { AUTH_CHANNEL, type AuthChangeListener, type AuthChanges } from './auth-changes.js';
import { InProcessChangeSignals, type ChangeSignals } from './change-signals.js';
import { InProcessNotifier, type TerminalNotifier } from './notifier.js';

const CHANNEL = 'cloudpos_terminals';
/** Committed transaction changes: `?wait=` reads and the webhook workers of every instance. */
const CHANGES_CHANNEL = 'cloudpos_changes';
/** How the listening connection names itself to the server (pg_stat_activity). */
export const LISTENER_NAME = 'cloudpos listener';

/** Wakes terminals across server instances that share one PostgreSQL database, and hears the
 * revocations and rotations any of them (or the admin CLI) makes: LISTEN on one connection of its
 * own, NOTIFY through the store. Listeners of this instance are woken at once, without the round
 * trip; a lost listening connection is re-opened, and on reconnection every local listener is woken
 * to look again and every cached secret is forgotten, since notifications may have been missed. */
export class PostgresNotifier implements TerminalNotifier {
  private readonly local = new InProcessNotifier();
  private readonly origin = randomUUID();
  private readonly authListeners = new Set<AuthChangeListener>();
  private client: pg.Client | undefined;
  private listening = false;
  private closed = false;
  private retryMs = 100;
  private health: NodeJS.Timeout | undefined;
  /** Other instances' creations arrive a moment after their commit, and a lost listening
   * connection may miss some: trust the silence briefly, so a missed one costs a short wait. */
  readonly completenessMs = 1_000;

  /** Revoked keys and replaced device tokens, heard on this instance's listening connection. */
  readonly auth: AuthChanges;
  private readonly localChanges = new InProcessChangeSignals();
  /** Transaction changes of every instance. */
  readonly changes: ChangeSignals;

  constructor(
    private readonly url: string,
    private readonly db: Kysely<Tables>,
    private readonly onError: (e: Error) => void = () => {},
    /** How often the listening connection is checked: a connection that died without a word would
     * otherwise leave revocations unheard. */
    private readonly healthCheckMs = 5_000,
  ) {
    const listening = () => this.listening;
    this.auth = {
      watch: (listener) => {
        this.authListeners.add(listener);
        return () => void this.authListeners.delete(listener);
      },
      get live() {
        return listening();
      },
    };
    const local = this.localChanges;
    this.changes = {
      notify: (transactionId) => {
        local.notify(transactionId);
        void sql`select pg_notify(${CHANGES_CHANNEL}, ${`${this.origin}:${transactionId}`})`.execute(this.db).catch((e: Error) => this.onError(e));
      },
      subscribe: (transactionId, listener) => local.subscribe(transactionId, listener),
      watch: (listener) => local.watch(listener),
    };
  }

  async start() {
    await this.listen();
    this.health = setInterval(() => void this.checkHealth(), this.healthCheckMs);
    this.health.unref();
  }

  private async listen() {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: LISTENER_NAME });
    client.on('notification', (msg) => {
      if (msg.channel === AUTH_CHANNEL) {
        if (msg.payload) for (const listener of this.authListeners) listener(msg.payload);
        return;
      }
      if (msg.channel === CHANGES_CHANNEL) {
        const [origin, transactionId] = (msg.payload ?? '').split(':');
        if (origin !== this.origin && transactionId) this.localChanges.notify(transactionId);
        return;
      }
      const [origin, terminalId] = (msg.payload ?? '').split(':');
      if (origin !== this.origin && terminalId) this.local.notify(Number(terminalId));
    });
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
      await client.query(`LISTEN ${CHANNEL}; LISTEN ${AUTH_CHANNEL}; LISTEN ${CHANGES_CHANNEL}`);
    } catch (e) {
      if (this.client === client) this.client = undefined;
      await client.end().catch(() => {});
      throw e;
    }
    established = true;
    this.retryMs = 100;
    // Anything cached before now may have changed unheard: start afresh, then trust again.
    for (const listener of this.authListeners) listener(null);
    this.listening = true;
  }

  /** Changes may go unheard from now until the connection is back: stop trusting cached secrets. */
  private lost() {
    if (!this.listening) return;
    this.listening = false;
    for (const listener of this.authListeners) listener(null);
  }

  private async reconnect() {
    if (this.closed || this.client) return;
    try {
      await this.listen();
      this.local.notifyAll();
      this.localChanges.notifyAll();
    } catch (e) {
      this.onError(e as Error);
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      setTimeout(() => void this.reconnect(), this.retryMs).unref();
    }
  }

  private async checkHealth() {
    const client = this.client;
    if (!client || !this.listening) return;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the listening connection does not answer')), this.healthCheckMs);
    });
    try {
      await Promise.race([client.query('select 1'), silent]);
    } catch (e) {
      if (this.client !== client || this.closed) return;
      this.onError(e as Error);
      this.lost();
      // 'end' follows, and with it the reconnection.
      void client.end().catch(() => {});
    } finally {
      clearTimeout(timer);
    }
  }

  notify(terminalId: number) {
    this.local.notify(terminalId);
    void sql`select pg_notify(${CHANNEL}, ${`${this.origin}:${terminalId}`})`.execute(this.db).catch((e: Error) => this.onError(e));
  }

  subscribe(terminalId: number, listener: () => void) {
    return this.local.subscribe(terminalId, listener);
  }

  watch(listener: (terminalId: number | null) => void) {
    return this.local.watch(listener);
  }

  async close() {
    this.closed = true;
    clearInterval(this.health);
    this.lost();
    await this.local.close();
    await this.client?.end().catch(() => {});
  }
}
