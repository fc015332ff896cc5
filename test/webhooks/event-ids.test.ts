import { describe, expect, it } from 'vitest';
import { newEventId } from '../../src/webhooks/event-types.js';

describe('event ids', () => {
  it('are 128 random bits in hex, none drawn twice across refills of their pool', () => {
    // 4 KiB of random bytes make 256 ids: this draws the pool many times over.
    const ids = Array.from({ length: 5_000 }, newEventId);
    for (const id of ids) expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Each hex digit takes each of its 16 values about as often: not a constant or a counter.
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(4)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(n).toBeGreaterThan((ids.length * 32) / 16 / 2);
  });
});
