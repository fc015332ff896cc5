import { describe, expect, it } from 'vitest';
import { RecentChanges } from '../../src/services/recent-changes.js';

describe('RecentChanges', () => {
  it('says a key changed only when it changed after the moment', () => {
    const changes = new RecentChanges<number>();
    changes.changed(1);
    const moment = changes.moment();
    expect(changes.unchangedSince(1, moment)).toBe(true);
    changes.changed(2);
    expect(changes.unchangedSince(1, moment)).toBe(true);
    expect(changes.unchangedSince(2, moment)).toBe(false);
    changes.changed(1);
    expect(changes.unchangedSince(1, moment)).toBe(false);
    expect(changes.unchangedSince(1, changes.moment())).toBe(true);
  });

  it('after a reset, every earlier moment answers changed and later ones are trusted again', () => {
    const changes = new RecentChanges<string>();
    const before = changes.moment();
    changes.reset();
    expect(changes.unchangedSince('a', before)).toBe(false);
    const after = changes.moment();
    expect(changes.unchangedSince('a', after)).toBe(true);
  });

  it('past its bound, a moment older than the oldest change kept answers changed for every key', () => {
    const changes = new RecentChanges<number>(3);
    const old = changes.moment();
    changes.changed(1);
    const recent = changes.moment();
    changes.changed(2);
    changes.changed(3);
    expect(changes.unchangedSince(9, old)).toBe(true);
    changes.changed(4); // forgets key 1's change
    expect(changes.unchangedSince(9, old)).toBe(false);
    expect(changes.unchangedSince(1, old)).toBe(false);
    expect(changes.unchangedSince(9, recent)).toBe(true);
    expect(changes.unchangedSince(2, recent)).toBe(false);
  });
});
