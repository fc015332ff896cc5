import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Terminal } from '../../src/domain/terminal.js';
import type { Transaction } from '../../src/domain/transaction.js';
import { InProcessNotifier } from '../../src/services/notifier.js';
import { Deadlines, HeldPoll, type PollHost } from '../../src/transactions/held-poll.js';

// Held polls by themselves: what wakes them, their deadlines (one timer per length of poll, polls
// ended in the order they began), and the looks they ask of their host.
describe('held polls and their deadlines', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'queueMicrotask'] }));
  afterEach(() => vi.useRealTimers());

  const notifier = new InProcessNotifier();
  const deadlines = new Deadlines();
  /** The host's looks, by terminal: each waits for the test to settle it. */
  let looks: Array<{ pk: number; settle: (t: Transaction | null) => void; fail: (e: Error) => void }> = [];
  /** Terminals known to have nothing: their polls look no further. */
  let idle = new Set<number>();
  let ended: HeldPoll[] = [];
  const host: PollHost = {
    notifier,
    knownIdle: (pk) => idle.has(pk),
    look: (terminal) =>
      new Promise((settle, fail) => {
        looks.push({ pk: terminal.pk, settle, fail });
      }),
    ended: (poll) => {
      deadlines.leave(poll);
      ended.push(poll);
    },
  };
  beforeEach(() => {
    looks = [];
    idle = new Set();
    ended = [];
  });

  /** A poll of terminal `pk` held `ms` from now; `answers` says what it answered and when. */
  const hold = (pk: number, ms: number) => {
    const connection = new EventEmitter();
    const answers: Array<[string, number]> = [];
    const poll = new HeldPoll(host, { pk } as Terminal, performance.now() + ms, connection, (error, next) =>
      answers.push([error ? `error: ${error.message}` : (next?.id ?? 'nothing'), performance.now()]),
    );
    deadlines.add(poll, ms);
    poll.start();
    return { poll, answers, connection };
  };

  it('ends each poll at its own deadline, with one timer for all the polls of one length', async () => {
    idle = new Set([1, 2, 3]);
    const a = hold(1, 1_000);
    await vi.advanceTimersByTimeAsync(300);
    const b = hold(2, 1_000);
    const c = hold(3, 500);
    // known idle: nothing looked
    expect(looks).toEqual([]);
    // two lengths, two timers: not one per poll
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(c.answers).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.answers).toEqual([['nothing', 800]]);
    expect(c.poll.expired).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(a.answers).toEqual([['nothing', 1_000]]);
    expect(b.answers).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(b.answers).toEqual([['nothing', 1_300]]);
    // every line is gone with its last poll, and nobody listens any more
    expect(vi.getTimerCount()).toBe(0);
    expect(ended).toEqual([c.poll, a.poll, b.poll]);
    expect(a.connection.listenerCount('close')).toBe(0);
  });

  it('ends a poll whose connection closes, and keeps the others to their deadlines', async () => {
    idle = new Set([1, 2, 3]);
    const a = hold(1, 1_000);
    await vi.advanceTimersByTimeAsync(100);
    const b = hold(2, 1_000);
    a.connection.emit('close');
    expect(a.answers).toEqual([['nothing', 100]]);
    expect(a.poll.gone).toBe(true);
    await vi.advanceTimersByTimeAsync(950);
    expect(b.answers).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(b.answers).toEqual([['nothing', 1_100]]);
    expect(a.poll.expired).toBe(false);
    // a poll ends once, whatever ends it again
    a.poll.finish('timeout');
    a.connection.emit('close');
    expect(a.answers).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends every poll when the server stops, each once', () => {
    idle = new Set([1, 2, 3]);
    const polls = [hold(1, 1_000), hold(2, 1_000), hold(3, 2_000)];
    deadlines.endAll();
    expect(polls.map((p) => p.answers)).toEqual([[['nothing', 0]], [['nothing', 0]], [['nothing', 0]]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('wakes a waiting poll on a notification for its terminal, looks once, and keeps its deadline', async () => {
    idle = new Set([7]);
    const a = hold(7, 1_000);
    notifier.notify(8);
    expect(looks).toEqual([]);
    idle.delete(7);
    notifier.notify(7);
    notifier.notify(7);
    await vi.advanceTimersByTimeAsync(0);
    // two notifications before it looked: one look covers both
    expect(looks.map((l) => l.pk)).toEqual([7]);
    looks[0]!.settle(null);
    await vi.advanceTimersByTimeAsync(999);
    expect(a.answers).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.answers).toEqual([['nothing', 1_000]]);
    expect(looks).toHaveLength(1);
  });

  it('looks again when notified while it looks, and answers what it finds', async () => {
    const a = hold(5, 1_000);
    // not known idle: it looks at once
    expect(looks.map((l) => l.pk)).toEqual([5]);
    notifier.notify(5);
    looks[0]!.settle(null);
    await vi.advanceTimersByTimeAsync(0);
    expect(looks).toHaveLength(2);
    looks[1]!.settle({ id: 'tx-1' } as Transaction);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.answers).toEqual([['tx-1', 0]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers what a look finds after its deadline passed during the look, and a failed look as an error', async () => {
    const a = hold(5, 100);
    await vi.advanceTimersByTimeAsync(100);
    expect(a.answers).toEqual([]);
    looks[0]!.settle({ id: 'tx-2' } as Transaction);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.answers).toEqual([['tx-2', 100]]);

    const b = hold(6, 1_000);
    looks[1]!.fail(new Error('the store is down'));
    await vi.advanceTimersByTimeAsync(0);
    expect(b.answers).toEqual([['error: the store is down', 100]]);
    expect(b.connection.listenerCount('close')).toBe(0);
  });
});
