import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { windowedCounts } from '../../src/http/rate-limit-store.js';

/** The store as the plugin calls it, answering synchronously what it passed to the callback. */
function storeOf(remembered: number, max = 3, timeWindow = 60_000) {
  const Store = windowedCounts(remembered);
  const store = new Store({ max, timeWindow });
  const count = (key: string, on = store) => {
    let answer: { current: number; ttl: number } | undefined;
    on.incr(key, (e, counted) => {
      expect(e).toBeNull();
      answer = counted;
    });
    return answer!;
  };
  return { store, count };
}

describe('windowedCounts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts each key apart in a window that begins at the first request, and answers what is left of it', () => {
    const { count } = storeOf(10);
    expect(count('a')).toEqual({ current: 1, ttl: 60_000 });
    vi.setSystemTime(1_010_000);
    expect(count('a')).toEqual({ current: 2, ttl: 50_000 });
    expect(count('b')).toEqual({ current: 1, ttl: 50_000 });
  });

  it('starts every count again once the window ends, the next window from the next request', () => {
    const { count } = storeOf(10);
    count('a');
    count('a');
    vi.setSystemTime(1_060_000);
    expect(count('a')).toEqual({ current: 1, ttl: 60_000 });
    vi.setSystemTime(1_200_000);
    expect(count('a')).toEqual({ current: 1, ttl: 60_000 });
    vi.setSystemTime(1_259_999);
    expect(count('a')).toEqual({ current: 2, ttl: 1 });
  });

  it('counts up to one past the limit and no further', () => {
    const { count } = storeOf(10, 2);
    expect([1, 2, 3, 4, 5].map(() => count('a').current)).toEqual([1, 2, 3, 3, 3]);
  });

  it('past `remembered` keys in a window, drops the one counted first', () => {
    const { count } = storeOf(2);
    count('a');
    count('a');
    count('b');
    count('b');
    count('c');
    // 'a' was dropped for 'c': it starts again; 'b' and 'c' are kept.
    expect(count('b').current).toBe(3);
    expect(count('c').current).toBe(2);
    expect(count('a').current).toBe(1);
  });

  it("counts a route's own limits apart, in a store of their own", () => {
    const { store, count } = storeOf(10, 1);
    const child = store.child({ max: 5 });
    count('a');
    count('a');
    expect(count('a').current).toBe(2);
    expect(count('a', child).current).toBe(1);
    expect([1, 2, 3, 4, 5, 6].map(() => count('b', child).current)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
