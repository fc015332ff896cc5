/**
 * A payment pushed to a terminal names it by id; the creation finds it in memory once the platform
 * has read it, whether a creation or the terminal's own device token brought it there, so that a
 * payment to a polling terminal costs the creation's statement alone. Another customer's terminal
 * stays "not found", from memory as from the store.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { DeviceAuth } from '../../src/services/device-auth.js';
import { OnboardingService } from '../../src/services/onboarding.js';
import { onboard, type OnboardedCustomer } from '../support/platform.js';
import { createTestDatabase, describeEachStore, type TestDatabase } from '../support/stores.js';
import type { FastifyInstance } from 'fastify';

describeEachStore('the terminals a creation names, from memory', (dialect) => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let ours: OnboardedCustomer;
  let theirs: OnboardedCustomer;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }), store: db.store });
    await app.ready();
    ours = await onboard(app, { terminalsPerStore: 3 });
    theirs = await onboard(app);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** A directory and a device-token check of their own on a store handle that the test closes:
   * whatever they answer after that came from memory. */
  async function withClosableStore() {
    const store = openDatabase(db.url);
    const directory = new OnboardingService(store);
    const auth = new DeviceAuth(directory.repo, Date.now, 60_000, undefined, (terminal) => directory.remember(terminal));
    return { store, directory, auth };
  }

  it('knows a terminal whose device token it checked, by its id in any case, for its customer only', async () => {
    const { store, directory, auth } = await withClosableStore();
    const polled = ours.terminals[0]!;
    expect((await auth.authenticate(polled.deviceToken)).ok).toBe(true);
    await store.close();

    const found = await directory.rememberedCustomerTerminal(ours.customerId, polled.id.toLowerCase());
    expect(found.ok && found.value.id).toBe(polled.id);
    const upper = await directory.rememberedCustomerTerminal(ours.customerId, polled.id.toUpperCase());
    expect(upper.ok && upper.value.id).toBe(polled.id);
    expect(await directory.rememberedCustomerTerminal(theirs.customerId, polled.id)).toMatchObject({ ok: false, error: 'NOT_FOUND' });
    // one it has not read is asked of the store, closed here
    await expect(directory.rememberedCustomerTerminal(ours.customerId, ours.terminals[1]!.id)).rejects.toThrow();
  });

  it('knows a terminal a creation looked up, and does not remember one not found', async () => {
    const { store, directory } = await withClosableStore();
    const named = ours.terminals[2]!;
    expect((await directory.rememberedCustomerTerminal(ours.customerId, named.id)).ok).toBe(true);
    // another customer's terminal is not found, and not remembered as theirs
    expect(await directory.rememberedCustomerTerminal(ours.customerId, theirs.terminals[0]!.id)).toMatchObject({ ok: false, error: 'NOT_FOUND' });
    await store.close();

    expect((await directory.rememberedCustomerTerminal(ours.customerId, named.id)).ok).toBe(true);
    await expect(directory.rememberedCustomerTerminal(theirs.customerId, theirs.terminals[0]!.id)).rejects.toThrow();
  });

  it('gives every terminal of a store one shared store and merchant', async () => {
    const { store, directory, auth } = await withClosableStore();
    const [first, second, third] = ours.terminals as [OnboardedCustomer['terminals'][number], OnboardedCustomer['terminals'][number], OnboardedCustomer['terminals'][number]];
    const a = await auth.authenticate(first.deviceToken);
    const b = await directory.customerTerminal(ours.customerId, second.id);
    if (!a.ok || !b.ok) throw new Error('both terminals are the customer\'s');
    expect(b.value.store).toBe(a.value.store);
    expect(b.value.merchant).toBe(a.value.merchant);
    expect(a.value.store.uuid).toBe(ours.stores[0]);
    expect(a.value.customer_id).toBe(ours.customerId);
    // The third terminal's own row still comes from the store: closed, the lookup fails.
    await store.close();
    await expect(directory.customerTerminal(ours.customerId, third.id)).rejects.toThrow();
  });

  it('forgets the terminal it saw least recently once it holds 50,000, not all of them', async () => {
    const { store, directory, auth } = await withClosableStore();
    const [kept, dropped] = [ours.terminals[0]!, ours.terminals[1]!];
    const a = await auth.authenticate(kept.deviceToken);
    const b = await auth.authenticate(dropped.deviceToken);
    if (!a.ok || !b.ok) throw new Error('both tokens are valid');
    for (let i = 0; i < 49_998; i++) directory.remember({ ...a.value, id: `FILLER-${i}` });
    // Seen again: `kept` goes to the back; the next one in drops `dropped`, now the oldest.
    directory.remember(a.value);
    directory.remember({ ...a.value, id: 'FILLER-LAST' });
    await store.close();

    expect((await directory.rememberedCustomerTerminal(ours.customerId, kept.id)).ok).toBe(true);
    expect((await directory.rememberedCustomerTerminal(ours.customerId, 'FILLER-0')).ok).toBe(true);
    await expect(directory.rememberedCustomerTerminal(ours.customerId, dropped.id)).rejects.toThrow();
  });
});
