import type { TerminalNotifier } from '../services/notifier.js';

export type Wake = 'notified' | 'timeout' | 'gone';

/** One held poll and what wakes it: a notification for its terminal, its deadline (its line's
 * timer), its connection closing, the server stopping. A fleet holds one per terminal, so it is
 * one object with one closure (the connection's listener), itself the notifier's listener and its
 * line's link, reused for every wait of the poll. */
export class HeldPoll {
  gone = false;
  /** Its deadline has passed. */
  expired = false;
  private resolve: ((why: Wake) => void) | undefined;
  /** Its line while it is in one, and its neighbours there. */
  line: DeadlineLine | undefined = undefined;
  previous: HeldPoll | undefined = undefined;
  next: HeldPoll | undefined = undefined;
  /** Told by its connection. */
  readonly close = () => this.finish('gone');

  constructor(
    private readonly notifier: TerminalNotifier,
    readonly terminalPk: number,
    /** performance.now() when the poll ends */
    readonly deadline: number,
  ) {}

  /** Resolves on the first of a notification, the deadline, or the end of the poll. */
  wait(): Promise<Wake> {
    return new Promise<Wake>((resolve) => {
      this.resolve = resolve;
      this.notifier.subscribe(this.terminalPk, this);
    });
  }

  /** Told by the notifier. */
  wake() {
    this.finish('notified');
  }

  finish(why: Wake) {
    if (why === 'gone') this.gone = true;
    else if (why === 'timeout') this.expired = true;
    const resolve = this.resolve;
    if (resolve === undefined) return;
    this.resolve = undefined;
    this.notifier.unsubscribe(this.terminalPk, this);
    resolve(why);
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
    // Ending a poll leaves it in its line: it leaves when its request ends.
    for (let poll = this.first; poll !== undefined; poll = poll.next) poll.finish('gone');
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
