import { describe, expect, it } from 'vitest';
import { TerminalPresence, type PresenceRecorder } from '../../src/services/presence.js';

/** What each flush handed to the store: the terminals and the times written. */
class Recorded implements PresenceRecorder {
  readonly writes: Array<Array<[number, number]>> = [];
  /** The held list of each flush, as given. */
  readonly heldLists: number[][] = [];
  failNext = false;

  async recordLastSeen(seen: number[], seenAt: (id: number) => number, held: number[], now: number): Promise<number> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the database does not answer');
    }
    this.heldLists.push(held);
    const times: Array<[number, number]> = [...seen.map((id): [number, number] => [id, seenAt(id)]), ...held.map((id): [number, number] => [id, now])];
    this.writes.push(times.sort((a, b) => a[0] - b[0]));
    return 0;
  }
}

/** Presence over a recorder, on a clock the test moves (`at`). */
function presenceAt(start: number) {
  let now = start;
  const store = new Recorded();
  const presence = new TerminalPresence(store, () => now, 10_000);
  return { presence, store, at: (ms: number) => (now = ms) };
}

describe('TerminalPresence', () => {
  it('writes the terminals seen since the last flush, each once, with its latest time', async () => {
    const { presence, store, at } = presenceAt(1_000);
    presence.markSeen(3);
    presence.markSeen(1);
    at(2_000);
    presence.markSeen(3);
    await presence.flush();
    expect(store.writes.at(-1)).toEqual([
      [1, 1_000],
      [3, 2_000],
    ]);
    await presence.flush();
    expect(store.writes.at(-1)).toEqual([]);
    at(3_000);
    presence.markSeen(1);
    await presence.flush();
    expect(store.writes.at(-1)).toEqual([[1, 3_000]]);
  });

  it('writes a terminal holding a poll at every flush, as seen at that moment', async () => {
    const { presence, store, at } = presenceAt(1_000);
    presence.pollStarted(7);
    at(6_000);
    await presence.flush();
    at(11_000);
    await presence.flush();
    expect(store.writes).toEqual([[[7, 6_000]], [[7, 11_000]]]);
    // The poll's end is a sighting too; after it, nothing more.
    at(12_000);
    presence.pollEnded(7);
    await presence.flush();
    expect(store.writes.at(-1)).toEqual([[7, 12_000]]);
    at(17_000);
    await presence.flush();
    expect(store.writes.at(-1)).toEqual([]);
  });

  it('hands the store the same list of held terminals while the same polls are held, a new one once a terminal starts or stops holding one', async () => {
    const { presence, store, at } = presenceAt(1_000);
    presence.pollStarted(1);
    presence.pollStarted(2);
    await presence.flush();
    // A second poll of a terminal already holding one, then its end: the same terminals hold polls.
    presence.pollStarted(2);
    presence.pollEnded(2);
    at(6_000);
    await presence.flush();
    expect(store.heldLists[1]).toBe(store.heldLists[0]);
    expect(store.writes.at(-1)).toEqual([
      [1, 6_000],
      [2, 6_000],
    ]);
    presence.pollEnded(1);
    at(11_000);
    await presence.flush();
    expect(store.heldLists[2]).toEqual([2]);
    presence.pollStarted(3);
    await presence.flush();
    expect(store.heldLists[3]!.sort()).toEqual([2, 3]);
  });

  it('writes again at the next flush what a failed flush did not write', async () => {
    const { presence, store, at } = presenceAt(1_000);
    presence.markSeen(4);
    presence.markSeen(5);
    store.failNext = true;
    await expect(presence.flush()).rejects.toThrow('does not answer');
    at(2_000);
    presence.markSeen(5);
    await presence.flush();
    expect(store.writes).toEqual([
      [
        [4, 1_000],
        [5, 2_000],
      ],
    ]);
  });
});
