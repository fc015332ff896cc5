import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { TerminalPresence } from '../services/presence.js';
import { RecentChanges } from '../services/recent-changes.js';
import type { UseCaseContext } from './context.js';
import { Deadlines, HeldPoll } from './held-poll.js';

/** The answer of a poll that finds nothing, shared (a settled promise never changes). */
const NOTHING: Promise<Transaction | null> = Promise.resolve(null);

/** The connection a held poll answers on: when it closes, the poll ends. */
export interface PollConnection {
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** A terminal asks for its work: the transaction it already holds (so a lost answer is not a lost
 * payment), else the pending one, which becomes RETRIEVED. With a wait, the poll is held until a
 * transaction is created for the terminal, the wait ends, the terminal goes away or the server
 * stops. A held poll keeps its terminal online. */
export class Pickup {
  /** Polls held right now (in `deadlines` until their deadline passes). */
  private held = 0;
  /** Terminals a poll found with nothing to do: the "nothing pending" hint, held until a change of
   * one of its transactions is heard, here or from another instance, and trusted only while the
   * notifier vouches that every change is heard. */
  private readonly idle = new Set<number>();
  /** A transaction created here for a terminal with a poll held here, handed to that poll: its
   * look needs no query to find it. The creation recorded it RETRIEVED already (`waits`); one made
   * PENDING (the poll came after the creation asked) is moved by the look's compare-and-set. */
  private readonly offered = new Map<number, Transaction>();
  /** The terminals told of a change, so that a look keeps its hint only if its own terminal's
   * transactions did not change while it looked. */
  private readonly changes = new RecentChanges<number>();
  private readonly deadlines = new Deadlines();

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly presence: TerminalPresence,
    private readonly longPollMaxS: number,
    private readonly closing: AbortSignal,
  ) {
    closing.addEventListener('abort', () => {
      this.deadlines.endAll();
    });
    // Only a creation makes a terminal busy, and every change is told for its terminal.
    ctx.notifier.watch((terminalPk, _transactionId, created) => {
      if (terminalPk === null) {
        this.changes.reset();
        this.idle.clear();
        this.offered.clear();
        return;
      }
      this.changes.changed(terminalPk);
      this.idle.delete(terminalPk);
      if (created && this.presence.holdsPoll(terminalPk)) this.offered.set(terminalPk, created);
      else this.offered.delete(terminalPk);
    });
  }

  /** Whether a poll of the terminal is held here: a transaction created for it now is handed to
   * that poll, so the creation may record it RETRIEVED in its own commit. */
  waits(terminalPk: number): boolean {
    return this.presence.holdsPoll(terminalPk);
  }

  /** Polls held right now, waiting for a transaction. */
  get heldPolls(): number {
    return this.held;
  }

  next(terminal: Terminal, waitS: number, connection: PollConnection): Promise<Transaction | null> {
    const waitMs = Math.min(waitS, this.longPollMaxS) * 1000;
    if (waitMs <= 0) return this.knownIdle(terminal.pk) ? NOTHING : this.look(terminal);
    const poll = new HeldPoll(this.ctx.notifier, terminal.pk, performance.now() + waitMs);
    poll.gone = this.closing.aborted;
    this.held++;
    this.deadlines.add(poll, waitMs);
    connection.on('close', poll.close);
    this.presence.pollStarted(terminal.pk);
    return this.hold(terminal, poll, connection);
  }

  /** Looks, and waits to look again while the poll lasts. */
  private async hold(terminal: Terminal, poll: HeldPoll, connection: PollConnection): Promise<Transaction | null> {
    try {
      for (;;) {
        // Subscribe before looking, so a transaction created in between is not missed.
        const woken = poll.expired || poll.gone ? undefined : poll.wait();
        // Known to have nothing, the usual case of a fleet's polls: no promise of look's own.
        const next = this.knownIdle(terminal.pk) ? null : await this.look(terminal);
        if (next) return next;
        if (!woken || (await woken) !== 'notified') return null;
      }
    } finally {
      poll.finish('gone');
      this.deadlines.leave(poll);
      this.held--;
      connection.off('close', poll.close);
      this.presence.pollEnded(terminal.pk);
      if (!this.presence.holdsPoll(terminal.pk)) this.offered.delete(terminal.pk);
    }
  }

  /** Whether the terminal is known to have nothing pending: the hint, while the notifications that
   * clear it are trusted. */
  private knownIdle(pk: number): boolean {
    return this.idle.has(pk) && this.ctx.notifier.trusted();
  }

  /** The terminal's transaction, from the store (its callers ask `knownIdle` first). */
  private async look(terminal: Terminal): Promise<Transaction | null> {
    const pk = terminal.pk;
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = this.changes.moment();
      const offered = this.offered.get(pk);
      if (offered) this.offered.delete(pk);
      const active = offered ?? (await this.ctx.queries.findActive(pk));
      if (!active) {
        // A creation that committed while we looked is told after its commit, so after this
        // check: it clears the hint again. A change of this terminal told meanwhile: no hint.
        if (this.changes.unchangedSince(pk, seen) && this.ctx.notifier.trusted()) this.idle.add(pk);
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
