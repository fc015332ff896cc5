import { describe, expect, it } from 'vitest';
import { BatchedReads } from '../../src/db/batched-reads.js';

/** A store whose reads end when the test says so, recording the keys of each. */
function slowStore() {
  const calls: Array<{ keys: number[]; end: () => void; fail: (e: Error) => void }> = [];
  const readMany = (keys: number[]) =>
    new Promise<Map<number, string>>((resolve, reject) => {
      calls.push({ keys, end: () => resolve(new Map(keys.filter((k) => k % 2 === 0).map((k) => [k, `row ${k}`]))), fail: reject });
    });
  return { calls, readMany };
}

describe('BatchedReads', () => {
  it('sends a read at once while fewer than the limit run, and those asked meanwhile together in the next', async () => {
    const store = slowStore();
    const reads = new BatchedReads(store.readMany, 1, 3);
    const first = reads.read(2);
    expect(store.calls.map((c) => c.keys)).toEqual([[2]]);
    const later = [4, 5, 6, 4, 8].map((k) => reads.read(k));
    expect(store.calls).toHaveLength(1);
    store.calls[0]!.end();
    expect(await first).toBe('row 2');
    await Promise.resolve();
    // One query for the keys asked while the first ran (4 asked twice), at most three keys in it.
    expect(store.calls.map((c) => c.keys)).toEqual([[2], [4, 5, 6]]);
    store.calls[1]!.end();
    await new Promise((r) => setImmediate(r));
    expect(store.calls.map((c) => c.keys)).toEqual([[2], [4, 5, 6], [8]]);
    store.calls[2]!.end();
    expect(await Promise.all(later)).toEqual(['row 4', undefined, 'row 6', 'row 4', 'row 8']);
  });

  it('fails every read of a failed query, and goes on with the next', async () => {
    const store = slowStore();
    const reads = new BatchedReads(store.readMany, 1);
    const a = reads.read(2);
    const b = reads.read(4);
    store.calls[0]!.fail(new Error('gone'));
    await expect(a).rejects.toThrow('gone');
    await new Promise((r) => setImmediate(r));
    store.calls[1]!.end();
    expect(await b).toBe('row 4');
  });
});
