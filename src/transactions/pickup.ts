import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { TerminalPresence } from '../services/presence.js';
import { RecentChanges } from '../services/recent-changes.js';
import type { UseCaseContext } from './context.js';

/** The connection a held poll answers on: when it closes, the poll ends. */
export interface PollConnection {
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

type Wake = 'notified' | 'timeout' | 'gone';

/** One held poll and what wakes it: a notification for its terminal, its deadline, its connection
 * closing, the server stopping. A fleet holds one per terminal, so it is one object with three
 * functions, reused for every wait of the poll. */
class HeldPoll {
  gone = false;
  private resolve: ((why: Wake) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Told by the notifier. */
  readonly wake = () => this.finish('notified');
  /** The timer's (a closure, not an argument the timer would keep in an array of its own). */
  private readonly expire = () => this.finish('timeout');
  readonly close = () => this.finish('gone');

  constructor(
    private readonly notifier: UseCaseContext['notifier'],
    readonly terminalPk: number,
  ) {}

  /** Resolves on the first of a notification, `ms`, or the end of the poll. */
  wait(ms: number): Promise<Wake> {
    return new Promise<Wake>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(this.expire, ms);
      this.notifier.subscribe(this.terminalPk, this.wake);
    });
  }

  finish(why: Wake) {
    if (why === 'gone') this.gone = true;
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.notifier.unsubscribe(this.terminalPk, this.wake);
    resolve(why);
  }
}

/** A terminal asks for its work: the transaction it already holds (so a lost answer is not a lost
 * payment), else the pending one, which becomes RETRIEVED. With a wait, the poll is held until a
 * transaction is created for the terminal, the wait ends, the terminal goes away or the server
 * stops. A held poll keeps its terminal online. */
export class Pickup {
  private readonly held = new Set<HeldPoll>();
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

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly presence: TerminalPresence,
    private readonly longPollMaxS: number,
    private readonly closing: AbortSignal,
  ) {
    closing.addEventListener('abort', () => {
      for (const poll of this.held) poll.finish('gone');
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
    return this.held.size;
  }

  async next(terminal: Terminal, waitS: number, connection: PollConnection): Promise<Transaction | null> {
    const waitMs = Math.min(waitS, this.longPollMaxS) * 1000;
    if (waitMs <= 0) return this.look(terminal);
    const deadline = Date.now() + waitMs;
    const poll = new HeldPoll(this.ctx.notifier, terminal.pk);
    poll.gone = this.closing.aborted;
    this.held.add(poll);
    connection.on('close', poll.close);
    this.presence.pollStarted(terminal.pk);
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        // Subscribe before looking, so a transaction created in between is not missed.
        const woken = remaining > 0 && !poll.gone ? poll.wait(remaining) : undefined;
        const next = await this.look(terminal);
        if (next) return next;
        if (!woken || (await woken) !== 'notified') return null;
      }
    } finally {
      poll.finish('gone');
      this.held.delete(poll);
      connection.off('close', poll.close);
      this.presence.pollEnded(terminal.pk);
      if (!this.presence.holdsPoll(terminal.pk)) this.offered.delete(terminal.pk);
    }
  }

  private async look(terminal: Terminal): Promise<Transaction | null> {
    const pk = terminal.pk;
    if (this.idle.has(pk) && this.ctx.notifier.trusted()) return null;
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
