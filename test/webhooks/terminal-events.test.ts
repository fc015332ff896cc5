import { afterAll, expect, it } from 'vitest';
import { merchantApi } from '../support/http.js';
import { onboard, usePlatform } from '../support/platform.js';
import { startReceiver, verify, type Receiver } from '../support/receiver.js';
import { describeEachStore } from '../support/stores.js';
import { deviceApi } from '../support/terminal.js';

describeEachStore('terminal presence events', (dialect) => {
  const ctx = usePlatform(dialect, { clock: true, env: { POLL_INTERVAL_MS: '1000' } });
  let r: Receiver | undefined;
  afterAll(async () => {
    await r?.close();
  });

  it('writes terminal.online when a terminal is seen and terminal.offline when nobody saw it for the window; delivered and counted', async () => {
    const { app, clock } = ctx();
    const c = await onboard(app);
    r = await startReceiver();
    const created = await merchantApi(app, c.apiKey)('POST', '/webhook-endpoints', { url: r.url, events: ['terminal.online', 'terminal.offline'] });
    const { secret } = created.json();
    const t = c.terminals[0]!;
    await deviceApi(app, t.deviceToken).next();
    await app.platform.presence.flush();
    clock!.advance(app.platform.presence.onlineWindowMs + 1);
    await app.platform.presence.flush();
    // Flushing again changes nothing: each edge is written once.
    await app.platform.presence.flush();
    const log = (await merchantApi(app, c.apiKey)('GET', '/events')).json() as Array<{ type: string; sequence: number; data: Record<string, unknown> }>;
    expect(log.map((e) => [e.type, e.sequence, e.data.terminal_id, e.data.online])).toEqual([
      ['terminal.offline', 2, t.id, false],
      ['terminal.online', 1, t.id, true],
    ]);
    // The store as events name it: its uuid and name, nothing else of the terminal's store.
    const store = { uuid: c.stores[0], name: expect.any(String) };
    for (const e of log) expect(e.data).toEqual({ terminal_id: t.id, online: e.type === 'terminal.online', last_seen: expect.any(String), store });
    const got = await r.until((all) => all.length >= 2);
    expect(got.map((x) => x.event.type).sort()).toEqual(['terminal.offline', 'terminal.online']);
    for (const x of got) verify(secret, x);
    let metrics = '';
    while (!/cloudpos_webhook_deliveries_total\{outcome="DELIVERED"\} 2/.test(metrics)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      metrics = (await app.inject({ url: '/metrics' })).body;
    }
    expect(metrics).toContain('cloudpos_webhook_delivery_failures_total 0');
  });

  it('keeps a terminal holding a long poll online across flushes, and counts its window from the poll\'s end', async () => {
    const { app, clock } = ctx();
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const { presence, store } = app.platform;
    const found = await app.platform.deviceAuth.authenticate(t.deviceToken);
    if (!found.ok) throw new Error(found.detail);
    const stored = async () => {
      const row = await store.db.selectFrom('terminal_presence').select(['last_seen_at', 'online']).where('terminal_id', '=', found.value.pk).executeTakeFirstOrThrow();
      return [Number(row.last_seen_at), Number(row.online)];
    };
    // Held for one second of real time; the platform's clock is the test's.
    const held = deviceApi(app, t.deviceToken).next(1);
    while (app.platform.transactions.heldPolls() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Three windows pass while the poll is held: every flush writes it as seen then, never offline.
    for (let i = 1; i <= 3; i++) {
      clock!.advance(presence.onlineWindowMs);
      await presence.flush();
      expect(await stored()).toEqual([clock!.now(), 1]);
    }
    expect((await held).statusCode).toBe(204);
    const ended = clock!.now();
    clock!.advance(presence.onlineWindowMs);
    await presence.flush();
    expect(await stored()).toEqual([ended, 1]);
    clock!.advance(1);
    await presence.flush();
    expect(await stored()).toEqual([ended, 0]);
    const log = (await merchantApi(app, c.apiKey)('GET', '/events')).json() as Array<{ type: string }>;
    expect(log.map((e) => e.type)).toEqual(['terminal.offline', 'terminal.online']);
  });

  it('writes a fleet\'s edges in slices, each terminal\'s once, also when two flushes cross', async () => {
    const { app, clock } = ctx();
    const c = await onboard(app, { terminalsPerStore: 120 });
    const api = merchantApi(app, c.apiKey);
    for (const t of c.terminals) await deviceApi(app, t.deviceToken).next();
    const { presence } = app.platform;
    // The second flush has no times of its own; both look for the same edges.
    await Promise.all([presence.flush(), presence.flush()]);
    clock!.advance(presence.onlineWindowMs + 1);
    await Promise.all([presence.flush(), presence.flush()]);
    for (const [type, sequence] of [['terminal.online', 1], ['terminal.offline', 2]] as const) {
      const pages = [await api('GET', `/events?type=${type}&size=100`), await api('GET', `/events?type=${type}&size=100&page=2`)];
      expect(pages[0]!.headers['x-total-count']).toBe('120');
      const events = pages.flatMap((p) => p.json() as Array<{ sequence: number; data: { terminal_id: string } }>);
      expect(events).toHaveLength(120);
      expect(new Set(events.map((e) => e.data.terminal_id))).toEqual(new Set(c.terminals.map((t) => t.id)));
      expect(new Set(events.map((e) => e.sequence))).toEqual(new Set([sequence]));
    }
  });
});
