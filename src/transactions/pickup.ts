import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import { apply } from '../domain/transaction-lifecycle.js';
import type { TerminalPresence } from '../services/presence.js';
import type { UseCaseContext } from './context.js';

/** The connection a held poll answers on: when it closes, the poll ends. */
export interface PollConnection {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

type Wake = 'notified' | 'timeout' | 'gone';

/** One held poll: what wakes it. Kept small, since a fleet holds one per terminal. */
interface HeldPoll {
  wake: ((why: Wake) => void) | undefined;
  gone: boolean;
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
  private notifications = 0;

  constructor(
    private readonly ctx: UseCaseContext,
    private readonly presence: TerminalPresence,
    private readonly longPollMaxS: number,
    private readonly closing: AbortSignal,
  ) {
    closing.addEventListener('abort', () => {
      for (const poll of this.held) Pickup.end(poll, 'gone');
    });
    // Only a creation makes a terminal busy, and every change is told for its terminal.
    ctx.notifier.watch((terminalPk) => {
      this.notifications++;
      if (terminalPk === null) this.idle.clear();
      else this.idle.delete(terminalPk);
    });
  }

  /** Polls held right now, waiting for a transaction. */
  get heldPolls(): number {
    return this.held.size;
  }

  private static end(poll: HeldPoll, why: Wake) {
    if (why === 'gone') poll.gone = true;
    const wake = poll.wake;
    poll.wake = undefined;
    wake?.(why);
  }

  async next(terminal: Terminal, waitS: number, connection: PollConnection): Promise<Transaction | null> {
    const waitMs = Math.min(waitS, this.longPollMaxS) * 1000;
    if (waitMs <= 0) return this.look(terminal);
    const deadline = Date.now() + waitMs;
    const poll: HeldPoll = { wake: undefined, gone: this.closing.aborted };
    const onClose = () => Pickup.end(poll, 'gone');
    this.held.add(poll);
    connection.once('close', onClose);
    this.presence.pollStarted(terminal.pk);
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        // Subscribe before looking, so a transaction created in between is not missed.
        const woken = remaining > 0 && !poll.gone ? this.wait(poll, terminal.pk, remaining) : undefined;
        const next = await this.look(terminal);
        if (next) {
          Pickup.end(poll, 'gone');
          return next;
        }
        if (!woken || (await woken) !== 'notified') return null;
      }
    } finally {
      Pickup.end(poll, 'gone');
      this.held.delete(poll);
      connection.off('close', onClose);
      this.presence.pollEnded(terminal.pk);
    }
  }

  /** Resolves on the first notification for the terminal, after `ms`, or when the poll ends. */
  private wait(poll: HeldPoll, terminalPk: number, ms: number): Promise<Wake> {
    return new Promise<Wake>((resolve) => {
      const timer = setTimeout(() => Pickup.end(poll, 'timeout'), ms);
      const unsubscribe = this.ctx.notifier.subscribe(terminalPk, () => Pickup.end(poll, 'notified'));
      poll.wake = (why) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(why);
      };
    });
  }

  private async look(terminal: Terminal): Promise<Transaction | null> {
    const pk = terminal.pk;
    if (this.idle.has(pk) && this.ctx.notifier.trusted()) return null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen = this.notifications;
      const active = await this.ctx.gateway.findActive(pk);
      if (!active) {
        // A creation that committed while we looked is told after its commit, so after this
        // check: it clears the hint again. Anything told meanwhile: no hint this time.
        if (this.notifications === seen && this.ctx.notifier.trusted()) this.idle.add(pk);
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
