import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, HeldPoll, type Wake } from '../../src/transactions/held-poll.js';
import { InProcessNotifier } from '../../src/services/notifier.js';

// The deadlines of held polls: one timer per length of poll, polls ended in the order they began.
describe('held polls and their deadlines', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  const notifier = new InProcessNotifier();
  const deadlines = new Deadlines();
  /** A poll of terminal `pk` held `ms` from now, waiting; `ended` says how and when it ended. */
  const hold = (pk: number, ms: number) => {
    const poll = new HeldPoll(notifier, pk, performance.now() + ms);
    deadlines.add(poll, ms);
    const ended: Array<[Wake, number]> = [];
    void poll.wait().then((why) => ended.push([why, performance.now()]));
    return { poll, ended };
  };

  it('ends each poll at its own deadline, with one timer for all the polls of one length', async () => {
    const a = hold(1, 1_000);
    await vi.advanceTimersByTimeAsync(300);
    const b = hold(2, 1_000);
    const c = hold(3, 500);
    // two lengths, two timers: not one per poll
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(c.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.ended).toEqual([['timeout', 800]]);
    expect(c.poll.expired).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(a.ended).toEqual([['timeout', 1_000]]);
    expect(b.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(b.ended).toEqual([['timeout', 1_300]]);
    // every line is gone with its last poll
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not end a poll that left its line, nor keep the line of a poll that left', async () => {
    const a = hold(1, 1_000);
    await vi.advanceTimersByTimeAsync(100);
    const b = hold(2, 1_000);
    // the first leaves (its terminal got a transaction): the second still ends at its own deadline
    a.poll.finish('gone');
    deadlines.leave(a.poll);
    await vi.advanceTimersByTimeAsync(950);
    expect(a.ended).toEqual([['gone', 100]]);
    expect(b.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(b.ended).toEqual([['timeout', 1_100]]);
    expect(a.poll.expired).toBe(false);

    const c = hold(3, 2_000);
    c.poll.finish('gone');
    deadlines.leave(c.poll);
    deadlines.leave(c.poll);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('wakes a waiting poll on a notification for its terminal, once, and keeps its deadline', async () => {
    const a = hold(7, 1_000);
    notifier.notify(8);
    notifier.notify(7);
    notifier.notify(7);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.ended).toEqual([['notified', 0]]);
    // it looks, finds nothing, and waits again: its deadline is the one it began with
    const again: Wake[] = [];
    void a.poll.wait().then((why) => again.push(why));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(again).toEqual(['timeout']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
