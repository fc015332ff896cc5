import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Tables } from '../db/schema.js';
import { InProcessNotifier, type TerminalNotifier } from './notifier.js';

const CHANNEL = 'cloudpos_terminals';

/** Wakes terminals across server instances that share one PostgreSQL database: LISTEN on one
 * connection of its own, NOTIFY through the store. Listeners of this instance are woken at once,
 * without the round trip; a lost listening connection is re-opened, and on reconnection every
 * local listener is woken to look again, since notifications may have been missed meanwhile. */
export class PostgresNotifier implements TerminalNotifier {
  private readonly local = new InProcessNotifier();
  private readonly origin = randomUUID();
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 100;
  /** Other instances' creations arrive a moment after their commit, and a lost listening
   * connection may miss some: trust the silence briefly, so a missed one costs a short wait. */
  readonly completenessMs = 1_000;

  constructor(
    private readonly url: string,
    private readonly db: Kysely<Tables>,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  async start() {
    await this.listen();
  }

  private async listen() {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      const [origin, terminalId] = (msg.payload ?? '').split(':');
      if (origin !== this.origin && terminalId) this.local.notify(Number(terminalId));
    });
    client.on('error', (e) => {
      this.onError(e);
      void client.end().catch(() => {});
    });
    client.on('end', () => {
      if (this.closed || this.client !== client) return;
      this.client = undefined;
      setTimeout(() => void this.reconnect(), this.retryMs).unref();
    });
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.retryMs = 100;
  }

  private async reconnect() {
    if (this.closed) return;
    try {
      await this.listen();
      this.local.notifyAll();
    } catch (e) {
      this.onError(e as Error);
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      setTimeout(() => void this.reconnect(), this.retryMs).unref();
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
    await this.local.close();
    await this.client?.end().catch(() => {});
  }
}
