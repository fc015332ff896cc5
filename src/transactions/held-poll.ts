import type { Terminal } from '../domain/terminal.js';
import type { Transaction } from '../domain/transaction.js';
import type { TerminalNotifier } from '../services/notifier.js';

/** What a held poll asks of the pickup that holds it. */
export interface PollHost {
  readonly notifier: TerminalNotifier;
  /** Whether the terminal is known to have nothing pending (no look needed). */
  knownIdle(terminalPk: number): boolean;
  /** The terminal's transaction, from the store; null when it has none to handle. */
  look(terminal: Terminal): Promise<Transaction | null>;
  /** The poll answered: it holds nothing any more. */
  ended(poll: HeldPoll): void;
}

/** The connection a held poll answers on: when it closes, the poll ends. */
export interface PollConnection {
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** How a poll is answered: once, with the transaction to handle, null (nothing), or the error. */
export type PollAnswer = (error: Error | null, next: Transaction | null) => void;

/** What a failed look rejected with, as the error a poll answers (never a value sent as a body). */
export const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * One held poll: it looks, and while it finds nothing it waits to look again, until a
 * notification for its terminal, its deadline (its line's timer), its connection closing, or the
 * server stopping. A fleet holds one per terminal, so it is one object with one closure (the
 * connection's listener), itself the notifier's listener and its line's link, and it runs by
 * callbacks: no async function or promise of its own is kept for a wait.
 *
 * It subscribes before its first look and stays subscribed until it answers, so a transaction
 * created while it looks is not missed: that look is followed by another.
 */
export class HeldPoll {
  gone = false;
  /** Its deadline has passed. */
  expired = false;
  /** Answered: nothing more happens. */
  private answered = false;
  /** A look is running. */
  private looking = false;
  /** Notified while it looked: look again. */
  private again = false;
  /** Its line while it is in one, and its neighbours there. */
  line: DeadlineLine | undefined = undefined;
  previous: HeldPoll | undefined = undefined;
  next: HeldPoll | undefined = undefined;
  /** Told by its connection. */
  readonly close = () => this.finish('gone');

  constructor(
    private readonly host: PollHost,
    readonly terminal: Terminal,
    /** performance.now() when the poll ends */
    readonly deadline: number,
    private readonly connection: PollConnection,
    private readonly answer: PollAnswer,
  ) {}

  /** Listens to its connection, subscribes, then looks. */
  start() {
    this.connection.on('close', this.close);
    this.host.notifier.subscribe(this.terminal.pk, this);
    this.lookNow();
  }

  /** Told by the notifier: looks again, after the notifier's turn (as a promise's reaction would). */
  wake() {
    if (this.answered) return;
    if (this.looking) this.again = true;
    else queueMicrotask(() => this.lookNow());
  }

  /** Its deadline passed ('timeout'), or its connection or the server ended it ('gone'): it
   * answers nothing, or, while a look runs, what that look finds. */
  finish(why: 'timeout' | 'gone') {
    if (why === 'gone') this.gone = true;
    else this.expired = true;
    if (!this.looking) this.end(null, null);
  }

  private lookNow() {
    // A second wake queued before the first's look began: that look covers both.
    if (this.answered || this.looking) return;
    this.again = false;
    // Known to have nothing, the usual case of a fleet's polls: no look, no promise.
    if (this.host.knownIdle(this.terminal.pk)) return this.waitMore();
    this.looking = true;
    this.host.look(this.terminal).then(
      (found) => {
        this.looking = false;
        if (found) this.end(null, found);
        else this.waitMore();
      },
      (e: unknown) => {
        this.looking = false;
        this.end(asError(e), null);
      },
    );
  }

  /** Found nothing: answers if the poll is over, looks again if notified meanwhile, else waits. */
  private waitMore() {
    if (this.expired || this.gone) this.end(null, null);
    else if (this.again) this.lookNow();
  }

  private end(error: Error | null, found: Transaction | null) {
    if (this.answered) return;
    this.answered = true;
    this.connection.off('close', this.close);
    this.host.notifier.unsubscribe(this.terminal.pk, this);
    this.host.ended(this);
    this.answer(error, found);
  }
}

/** When held polls end: one timer per length of poll, not one per poll. A fleet holds a poll per
 * terminal, and a Node timer is an object of its own (120 bytes) with a closure to call. Polls of
 * one length end in the order they began, so each length keeps its polls in a line, in that order,
 * and a timer for the first. */
export class Deadlines {
  private readonly lines = new Map<number, DeadlineLine>();

  /** Ends `poll` (`finish('timeout')`) at its deadline, `ms` after it began, unless it leaves first. */
  add(poll: HeldPoll, ms: number) {
    let line = this.lines.get(ms);
    if (!line) this.lines.set(ms, (line = new DeadlineLine(ms, this.lines)));
    line.add(poll);
  }

  leave(poll: HeldPoll) {
    poll.line?.remove(poll);
  }

  /** Every poll before its deadline: the server is stopping. */
  endAll() {
    for (const line of this.lines.values()) line.endAll();
  }
}

export class DeadlineLine {
  private first: HeldPoll | undefined;
  private last: HeldPoll | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly lines: Map<number, DeadlineLine>,
  ) {}

  add(poll: HeldPoll) {
    poll.line = this;
    poll.previous = this.last;
    if (this.last) this.last.next = poll;
    else this.first = poll;
    this.last = poll;
    if (this.timer === undefined) this.arm(poll.deadline);
  }

  remove(poll: HeldPoll) {
    if (poll.previous) poll.previous.next = poll.next;
    else this.first = poll.next;
    if (poll.next) poll.next.previous = poll.previous;
    else this.last = poll.previous;
    poll.line = poll.previous = poll.next = undefined;
    if (this.first === undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.lines.delete(this.ms);
    }
  }

  endAll() {
    // A poll that ends leaves its line at once: its neighbours are read first.
    for (let poll = this.first; poll !== undefined; ) {
      const next = poll.next;
      poll.finish('gone');
      poll = next;
    }
  }

  private arm(at: number) {
    // A line's first poll may leave before its deadline: the timer then fires early and is set again.
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - performance.now())));
  }

  private readonly fire = () => {
    this.timer = undefined;
    const now = performance.now();
    while (this.first !== undefined && this.first.deadline <= now) {
      const poll = this.first;
      this.remove(poll);
      poll.finish('timeout');
    }
    if (this.first !== undefined) this.arm(this.first.deadline);
  };
}
