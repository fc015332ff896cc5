import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import { waitForNotification } from '../services/notifier.js';
import type { TerminalPresence } from '../services/presence.js';
import type { UseCaseContext } from './context.js';

/** The connection a held poll answers on: when it closes, the poll ends. */
export interface PollConnection {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** A terminal asks for its work: the transaction it already holds (so a lost answer is not a lost
 * payment), else the pending one, which becomes RETRIEVED. With a wait, the poll is held until a
 * transaction is created for the terminal, the wait ends, the terminal goes away or the server
 * stops. A held poll keeps its terminal online. */
export class Pickup {
  private readonly held = new Set<AbortController>();
  /** Terminals a poll found with nothing to do, and when: the "nothing pending" hint. */
  private readonly idle = new Map<number, number>();
  private readonly idleHintMs: number;
  private notifications = 0;

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly presence: TerminalPresence,
    private readonly longPollMaxS: number,
    private readonly closing: AbortSignal,
  ) {
    closing.addEventListener('abort', () => {
      for (const poll of this.held) poll.abort();
    });
    // Only a creation makes a terminal busy, and every creation is notified for its terminal: a
    // notifier that reports them all lets an idle poll skip the database, for as long as the
    // notifier vouches that it sees every creation.
    this.idleHintMs = ctx.notifier.watch ? ctx.notifier.completenessMs : 0;
    ctx.notifier.watch?.((terminalPk) => {
      this.notifications++;
      if (terminalPk === null) this.idle.clear();
      else this.idle.delete(terminalPk);
    });
  }

  /** Polls held right now, waiting for a transaction. */
  get heldPolls(): number {
    return this.held.size;
  }

  async next(terminal: Terminal, waitS: number, connection: PollConnection): Promise<Transaction | null> {
    const waitMs = Math.min(waitS, this.longPollMaxS) * 1000;
    if (waitMs <= 0) return this.look(terminal);
    const deadline = Date.now() + waitMs;
    // Not AbortSignal.any with the long-lived closing signal: on Node 20 every poll would stay
    // referenced from it.
    const gone = new AbortController();
    const abort = () => gone.abort();
    if (this.closing.aborted) abort();
    this.held.add(gone);
    connection.once('close', abort);
    this.presence.pollStarted(terminal.pk);
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        // Subscribe before looking, so a transaction created in between is not missed.
        const waiter = remaining > 0 && !gone.signal.aborted ? waitForNotification(this.ctx.notifier, terminal.pk, remaining, gone.signal) : undefined;
        const next = await this.look(terminal);
        if (next) {
          waiter?.cancel();
          return next;
        }
        if (!waiter || (await waiter.ready) !== 'notified') return null;
      }
    } finally {
      this.held.delete(gone);
      connection.off('close', abort);
      this.presence.pollEnded(terminal.pk);
    }
  }

  private async look(terminal: Terminal): Promise<Transaction | null> {
    const pk = terminal.pk;
    const idleSince = this.idle.get(pk);
    if (idleSince !== undefined && this.ctx.now() - idleSince < this.idleHintMs) return null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = this.notifications;
      const active = await this.ctx.gateway.findActive(pk);
      if (!active) {
        // A creation that committed while we looked is notified after its commit, so after this
        // check: it clears the hint again. Any notification meanwhile: no hint this time.
        if (this.idleHintMs > 0 && this.notifications === seen) this.idle.set(pk, this.ctx.now());
        return null;
      }
      const now = this.ctx.now();
      const event = active.expires_at <= now ? 'EXPIRE' : 'RETRIEVE';
      // Retrieved already (or further): the terminal gets again what it holds.
      if (!apply(active, event).ok) return active;
      const moved = await this.ctx.gateway.move(active, event, { at: now });
      if (moved.ok && event === 'RETRIEVE') return moved.value;
      // Expired, or moved by another writer meanwhile: look again.
    }
    return null;
  }
}
