import { describe, expect, it } from 'vitest';
import { newTransactionId } from '../../src/transactions/create.js';
import { newEventId } from '../../src/webhooks/event-types.js';

/** Each digit of `ids`' random parts takes each of its `radix` values about as often: not a
 * constant or a counter. */
function expectUniform(randomParts: string[], radix: number) {
  const counts = new Map<string, number>();
  for (const part of randomParts) for (const c of part) counts.set(c, (counts.get(c) ?? 0) + 1);
  expect(counts.size).toBe(radix);
  const expected = (randomParts.length * randomParts[0]!.length) / radix;
  for (const n of counts.values()) expect(n).toBeGreaterThan(expected / 2);
}

describe('ids', () => {
  it('of events: the millisecond and 80 random bits in 32 hex digits, none drawn twice across refills of their pool', () => {
    const before = Date.now();
    // 4 KiB of random bytes make 409 ids: this draws the pool many times over.
    const ids = Array.from({ length: 5_000 }, () => newEventId());
    const after = Date.now();
    for (const id of ids) expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(parseInt(id.slice(4, 16), 16)).toSatisfy((ms: number) => ms >= before && ms <= after);
    expectUniform(ids.map((id) => id.slice(16)), 16);
  });

  it('of transactions: 31 decimal digits, the millisecond and 18 random digits', () => {
    const before = Date.now();
    const ids = Array.from({ length: 5_000 }, () => newTransactionId());
    const after = Date.now();
    for (const id of ids) expect(id).toMatch(/^[1-9][0-9]{30}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Number(id.slice(0, 13))).toSatisfy((ms: number) => ms >= before && ms <= after);
    expectUniform(ids.map((id) => id.slice(13)), 10);
  });

  it('sort by the time they were made, as their indexes take them', async () => {
    const first = [newTransactionId(), newEventId()];
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = [newTransactionId(), newEventId()];
    expect(first[0]! < second[0]!).toBe(true);
    expect(first[1]! < second[1]!).toBe(true);
  });
});
