import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { TerminalPresence } from '../services/presence.js';
import { RecentChanges } from '../services/recent-changes.js';
import type { UseCaseContext } from './context.js';
import { asError, Deadlines, HeldPoll, type PollAnswer, type PollConnection, type PollHost } from './held-poll.js';

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
  /** What the held polls ask of this pickup. */
  private readonly host: PollHost;

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly presence: TerminalPresence,
    private readonly longPollMaxS: number,
    private readonly closing: AbortSignal,
  ) {
    this.host = {
      notifier: ctx.notifier,
      knownIdle: (pk) => this.knownIdle(pk),
      look: (terminal) => this.look(terminal),
      ended: (poll) => {
        this.deadlines.leave(poll);
        this.held--;
        const pk = poll.terminal.pk;
        this.presence.pollEnded(pk);
        if (!this.presence.holdsPoll(pk)) this.offered.delete(pk);
      },
    };
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

  /** Answers the terminal's next transaction, or null: at once without a wait, else once one is
   * found or the wait ends (`answer` is called exactly once). */
  next(terminal: Terminal, waitS: number, connection: PollConnection, answer: PollAnswer): void {
    const waitMs = Math.min(waitS, this.longPollMaxS) * 1000;
    if (waitMs <= 0) {
      if (this.knownIdle(terminal.pk)) answer(null, null);
      else this.look(terminal).then((found) => answer(null, found), (e: unknown) => answer(asError(e), null));
      return;
    }
    const poll = new HeldPoll(this.host, terminal, performance.now() + waitMs, connection, answer);
    poll.gone = this.closing.aborted;
    this.held++;
    this.deadlines.add(poll, waitMs);
    this.presence.pollStarted(terminal.pk);
    poll.start();
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
