import { expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { onboard } from '../support/platform.js';
import { startReceiver, verify, type Answer } from '../support/receiver.js';
import { createTestDatabase, describeEachStore } from '../support/stores.js';
import { APPROVE, EXPIRY } from '../support/terminal.js';
import { spawnCloudpos } from '../simulator/process.js';

describeEachStore('webhooks across a crash', (dialect) => {
  it('delivers the events of a payment committed by a process killed right after, once restarted', async () => {
    const db = await createTestDatabase(dialect);
    // The receiver answers nothing while the first process lives: whatever it had claimed is in flight when it dies.
    let answer: Answer = 'hang';
    const r = await startReceiver(() => answer);
    const setup = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }), store: db.store });
    const env = { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const servers: Array<ReturnType<typeof spawnCloudpos>> = [];
    try {
      const c = await onboard(setup);
      const endpoint = await setup.platform.webhooks.create(c.customerId, { url: r.url });
      if (!endpoint.ok) throw new Error(endpoint.detail);
      const first = spawnCloudpos(['serve'], env);
      servers.push(first);
      const [, base] = await first.waitFor(/listening on (http:\/\/\S+)/);
      const t = c.terminals[0]!;
      const created = await fetch(`${base}/terminals/${t.id}/transactions`, {
        method: 'POST',
        headers: { 'api-key': c.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'PURCHASE', merchant_order_reference: 'crash-1', amount: { value: 7.5, currency: 'EUR' } }),
      });
      const id = ((await created.json()) as { id: string }).id;
      const device = { authorization: `Bearer ${t.deviceToken}` };
      expect((await fetch(`${base}/device/v1/transactions/next`, { headers: device })).status).toBe(200);
      const card = await fetch(`${base}/device/v1/transactions/${id}/card`, {
        method: 'POST',
        headers: { ...device, 'content-type': 'application/json' },
        body: JSON.stringify({ entry_mode: 'CHIP', card: { number: APPROVE, expiry: EXPIRY } }),
      });
      expect(((await card.json()) as { status: string }).status).toBe('CLEARED');
      first.proc.kill('SIGKILL');
      await first.exit;

      answer = 200;
      const second = spawnCloudpos(['serve'], env);
      servers.push(second);
      await second.waitFor(/listening on/);
      const types = ['transaction.created', 'transaction.retrieved', 'transaction.card_presented', 'transaction.cleared'];
      const answered = (all: typeof r.received) => all.filter((x) => x.event.data.id === id && x.answeredWith === 200);
      const got = answered(await r.until((all) => new Set(answered(all).map((x) => x.event.type)).size === types.length));
      expect(new Set(got.map((x) => x.event.type))).toEqual(new Set(types));
      for (const x of got) verify(endpoint.value.secret, x);
    } finally {
      for (const s of servers) s.proc.kill('SIGKILL');
      await Promise.all(servers.map((s) => s.exit));
      await setup.close();
      await r.close();
      await db.drop();
    }
  }, 90_000);
});
