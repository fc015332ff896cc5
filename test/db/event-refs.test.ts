import { expect, it } from 'vitest';
import { EventRepository } from '../../src/db/event-repository.js';
import { describeEachStore, useTestDatabase } from '../support/stores.js';

describeEachStore('the terminals events name, kept in memory', (dialect) => {
  const db = useTestDatabase(dialect);

  it('keeps the 10,000 told last: past them the longest known is read again from the store', async () => {
    const events = new EventRepository(db().store.db, dialect);
    const ref = (pk: number) => ({ id: `T-${pk}`, customer_id: 1, store: { uuid: 'u', name: 's' } });
    // Keys that name no registered terminal: one answered from memory needs no row.
    for (let pk = 1_000_001; pk <= 1_010_001; pk++) events.remember(pk, ref(pk));
    expect(await events.terminalRefs([1_000_002, 1_010_001])).toEqual([ref(1_000_002), ref(1_010_001)]);
    // Told again, a known one stays without pushing out another.
    events.remember(1_000_002, ref(1_000_002));
    expect(await events.terminalRef(1_000_003)).toEqual(ref(1_000_003));
    await expect(events.terminalRef(1_000_001)).rejects.toThrow('terminal 1000001 is not registered');
  });
});
