import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Acquirer, AuthorizationRequest } from '../../src/acquirer/acquirer.js';
import { SandboxAcquirer } from '../../src/acquirer/sandbox.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { merchantApi } from '../support/http.js';
import { onboard, type OnboardedCustomer } from '../support/platform.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { type Spawned, spawnCloudpos } from './process.js';

/** The sandbox acquirer, counting how often it is asked per transaction. */
class CountingAcquirer extends SandboxAcquirer {
  readonly calls = new Map<string, number>();
  override authorize(req: AuthorizationRequest, signal?: AbortSignal) {
    this.calls.set(req.transaction_id, (this.calls.get(req.transaction_id) ?? 0) + 1);
    return super.authorize(req, signal);
  }
}

describe('cloudpos terminal run against a real server', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let port = 0;
  let customer: OnboardedCustomer;
  let stateDir: string;
  const acquirer = new CountingAcquirer();
  const config = () => loadConfig({ LOG_LEVEL: 'silent', AUTH_CACHE_MS: '0', POLL_INTERVAL_MS: '200', LONG_POLL_MAX_S: '5', DATABASE_URL: db.url });
  const running: Spawned[] = [];

  async function startServer(extend?: (app: FastifyInstance) => void) {
    app = await buildApp({ config: config(), store: db.store, acquirer });
    extend?.(app);
    await app.listen({ port, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : port;
  }

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    await startServer();
    customer = await onboard(app, { terminalsPerStore: 4 });
    stateDir = mkdtempSync(join(tmpdir(), 'cloudpos-sim-state-'));
  });
  afterEach(() => {
    for (const p of running.splice(0)) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const terminal = (i: number) => customer.terminals[i]!;
  const api = () => merchantApi(app, customer.apiKey);
  const simulator = (i: number, args: string[]) => {
    const p = spawnCloudpos(['terminal', 'run', '--server', `http://127.0.0.1:${port}`, '--state', stateDir, '--retry-ms', '100', ...args], {
      CLOUDPOS_DEVICE_TOKEN: terminal(i).deviceToken,
    });
    running.push(p);
    return p;
  };
  const pay = async (i: number, value: number, reference: string) => {
    const res = await api()('POST', `/terminals/${terminal(i).id}/transactions`, { type: 'PURCHASE', merchant_order_reference: reference, amount: { value, currency: 'EUR' } });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };
  const status = async (i: number, id: string) => (await api()('GET', `/terminals/${terminal(i).id}/transactions/${id}`)).json();

  it("runs without a device token against a sandbox with the customer's API key, as the terminal --terminal names", async () => {
    const base = ['terminal', 'run', '--server', `http://127.0.0.1:${port}`, '--state', stateDir, '--card', '4111111111111111', '--once'];
    const stranger = await onboard(app);
    const spawnOf = (args: string[], env: Record<string, string>) => {
      const p = spawnCloudpos(args, { CLOUDPOS_DEVICE_TOKEN: '', CLOUDPOS_API_KEY: '', ...env });
      running.push(p);
      return p;
    };
    // Neither a token nor a key: a usage error that says what to give. A bad key: refused by the
    // server. Another customer's key does not reach this customer's terminal. And with four
    // terminals it must be told which one to be, from this customer's only.
    const bare = spawnOf(base, {});
    const refused = spawnOf([...base, '--api-key', 'cpos_key_nope'], {});
    const foreign = spawnOf([...base, '--terminal', terminal(3).id], { CLOUDPOS_API_KEY: stranger.apiKey });
    const ambiguous = spawnOf(base, { CLOUDPOS_API_KEY: customer.apiKey });
    expect(await Promise.all([bare.exit, refused.exit, foreign.exit, ambiguous.exit])).toEqual([2, 2, 2, 2]);
    expect(bare.output()).toMatch(/--api-key/);
    expect(bare.output()).toMatch(/CLOUDPOS_API_KEY/);
    expect(refused.output()).toMatch(/--api-key was refused .*: 403/);
    expect(foreign.output()).toMatch(/no simulator session for terminal .*: 404/);
    expect(ambiguous.output()).toContain(terminal(3).id);
    expect(ambiguous.output()).not.toContain(stranger.terminals[0]!.id);
    const sim = spawnCloudpos([...base, '--api-key', customer.apiKey, '--terminal', terminal(3).id.toLowerCase()], { CLOUDPOS_DEVICE_TOKEN: '' });
    running.push(sim);
    await sim.waitFor(/connected · polling/);
    const id = await pay(3, 3.5, 'cli-session');
    expect(await sim.exit).toBe(0);
    expect(await status(3, id)).toMatchObject({ status: 'CLEARED', result: 'APPROVED' });
  }, 60_000);

  it('--outcome --once: the payment app decides by the test-card table and reports presented + outcome; the platform never sees the card', async () => {
    const sim = simulator(0, ['--outcome', '--card', '4111111111111111', '--entry', 'CHIP', '--once']);
    await sim.waitFor(/connected · polling/);
    const id = await pay(0, 60, 'cli-outcome');
    expect(await sim.exit).toBe(0);
    expect(sim.output()).toMatch(/payment app: APPROVED \(authorization [A-Z0-9]{6}\) · VISA \*{4}1111/);
    expect(sim.output()).toMatch(/PAYMENT ACCEPTED/);
    expect(acquirer.calls.get(id)).toBeUndefined();
    const paid = await status(0, id);
    expect(paid).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA' });
    expect(paid.receipt).toContain('A0000000031010');
    const events = await db.store.db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', id).orderBy('id').execute();
    expect(events.filter((e) => e.to_stage === 'CARD_PRESENTED')).toHaveLength(1);

    // Declined by the table (and any other Luhn-valid card for an amount ending in 51): exit 1.
    const declined = simulator(1, ['--outcome', '--card', '4000000000009995', '--once']);
    await declined.waitFor(/connected · polling/);
    const no = await pay(1, 4, 'cli-outcome-declined');
    expect(await declined.exit).toBe(1);
    expect(declined.output()).toMatch(/payment app: DECLINED \(INSUFFICIENT_FUNDS\)/);
    expect(await status(1, no)).toMatchObject({ status: 'CANCELLED', result: 'DECLINED' });
    const other = simulator(1, ['--outcome', '--card', '4242424242424242', '--once']);
    await other.waitFor(/connected · polling/);
    const fifty = await pay(1, 10.51, 'cli-outcome-51');
    expect(await other.exit).toBe(1);
    expect(other.output()).toMatch(/DO_NOT_HONOUR/);
    expect(await status(1, fifty)).toMatchObject({ status: 'CANCELLED', result: 'DECLINED' });
    expect(acquirer.calls.get(no)).toBeUndefined();
  });

  it('approves with --card 4111111111111111 --once: exit 0, the receipt printed, CLEARED/APPROVED', async () => {
    const sim = simulator(0, ['--card', '4111111111111111', '--once']);
    await sim.waitFor(/connected · polling/);
    const id = await pay(0, 12.5, 'cli-approve');
    expect(await sim.exit).toBe(0);
    expect(sim.output()).toContain('PURCHASE 12.50 EUR');
    expect(sim.output()).toMatch(/PAYMENT ACCEPTED/);
    expect(sim.output()).toMatch(/\*{12}1111/);
    expect(await status(0, id)).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA' });
  });

  it('declines with 4000000000000002: exit 1, CANCELLED/DECLINED', async () => {
    const id = await pay(1, 3.5, 'cli-decline'); // created before the terminal starts: fetched at the first poll
    const sim = simulator(1, ['--card', '4000000000000002', '--entry', 'CHIP', '--once']);
    expect(await sim.exit).toBe(1);
    expect(sim.output()).toContain('DECLINED');
    expect(await status(1, id)).toMatchObject({ status: 'CANCELLED', result: 'DECLINED' });
  });

  it('notices a cancellation through the MerchantAPI while it waits for the card, and takes the next payment', async () => {
    const sim = simulator(2, ['--entry', 'CONTACTLESS']);
    await sim.waitFor(/connected · polling/);
    const first = await pay(2, 7, 'cli-cancel');
    await sim.waitFor(/Card \[1: 4111111111111111\]/);
    expect(sim.output()).toMatch(/4000000000000002 +Visa, declined/);
    const del = await api()('DELETE', `/terminals/${terminal(2).id}/transactions/${first}`);
    expect(del.statusCode).toBe(204);
    await sim.waitFor(/CANCELLED by the platform/);
    // Back to idle: the next payment shows up and is paid with the card chosen at the prompt.
    const second = await pay(2, 2, 'cli-after-cancel');
    await sim.waitFor(/PURCHASE 2\.00 EUR {2}\(transaction/);
    await sim.waitFor(/Present a test card for 2\.00 EUR/);
    sim.write('4'); // 4) 5555555555554444 Mastercard, approved
    await sim.waitFor(/2\.00 EUR: APPROVED/);
    expect(await status(2, first)).toMatchObject({ status: 'CANCELLED', cancel_reason: 'CANCELLED_BY_CUSTOMER' });
    expect(await status(2, second)).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'MASTERCARD' });
    sim.proc.kill('SIGTERM');
    expect(await sim.exit).toBe(130);
    expect(sim.output()).not.toMatch(/offline/);
  });

  it('server down after the card: keeps the result (no card number on disk) and reports it once when the server is back', async () => {
    const sim = simulator(3, ['--entry', 'CHIP', '--once']);
    await sim.waitFor(/connected · polling/);
    const id = await pay(3, 42.42, 'cli-offline');
    await sim.waitFor(/Card \[1: /);
    await app.close();
    sim.write('1'); // 4111111111111111
    await sim.waitFor(/not reported yet: kept in (\S+)/);
    await sim.waitFor(/offline/);
    const files = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
    expect(files).toEqual([`pending-${terminal(3).id}.json`]);
    const kept = readFileSync(join(stateDir, files[0]!), 'utf8');
    expect(JSON.parse(kept)).toMatchObject({ transaction_id: id, card_last4: '1111', entry_mode: 'CHIP' });
    expect(kept).not.toMatch(/4111111111111111|411111/);
    expect(acquirer.calls.get(id)).toBeUndefined();

    // Back, but the answer to the first report is lost on the way: the simulator must send it
    // again, and the platform must not ask the acquirer twice.
    let dropped = 0;
    await startServer((server) =>
      server.addHook('onSend', async (request, _reply, payload) => {
        if (request.url.endsWith(`/${id}/card`) && dropped++ === 0) request.raw.socket.destroy();
        return payload;
      }),
    );
    expect(await sim.exit).toBe(0);
    expect(dropped).toBe(2);
    expect(sim.output()).toMatch(/42\.42 EUR: APPROVED/);
    expect(acquirer.calls.get(id)).toBe(1);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
    const events = await db.store.db.selectFrom('transaction_events').selectAll().where('transaction_id', '=', id).orderBy('id').execute();
    expect(events.filter((e) => e.to_stage === 'CARD_PRESENTED')).toHaveLength(1);
    expect(events.map((e) => e.to_status).at(-1)).toBe('CLEARED');
    expect(await status(3, id)).toMatchObject({ status: 'CLEARED', result: 'APPROVED' });
  });
});

describe('cloudpos terminal qr', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url }), store: db.store });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('prints the identifiers JSON the QR code carries; a bad token fails with the configuration error', async () => {
    const c = await onboard(app);
    const port = (app.server.address() as { port: number }).port;
    const qr = spawnCloudpos(['terminal', 'qr', '--server', `http://127.0.0.1:${port}`, '--token', c.terminals[0]!.deviceToken]);
    expect(await qr.exit).toBe(0);
    const [, , serial] = c.terminals[0]!.id.split('-');
    expect(JSON.parse(qr.output().trim())).toEqual({ manufacturer: 'SUNMI', model: 'P2lite', serial });
    const bad = spawnCloudpos(['terminal', 'qr', '--server', `http://127.0.0.1:${port}`, '--token', 'cpos_dev_nope']);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toMatch(/configuration failed: 403/);
  });
});

describe('cloudpos terminal run --outcome against a production server', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    const config = loadConfig({ LOG_LEVEL: 'silent', CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: 'ab'.repeat(32), POLL_INTERVAL_MS: '200', LONG_POLL_MAX_S: '5', DATABASE_URL: db.url });
    app = await buildApp({ config, store: db.store });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('pays with the device token, no simulator session and no card data', async () => {
    const c = await onboard(app);
    const t = c.terminals[0]!;
    const port = (app.server.address() as { port: number }).port;
    const created = await merchantApi(app, c.apiKey)('POST', `/terminals/${t.id}/transactions`, { type: 'PURCHASE', merchant_order_reference: 'prod-1', amount: { value: 4.5, currency: 'EUR' } });
    expect(created.statusCode).toBe(201);
    const sim = spawnCloudpos(['terminal', 'run', '--server', `http://127.0.0.1:${port}`, '--outcome', '--card', '5555555555554444', '--once', '--retry-ms', '100'], { CLOUDPOS_DEVICE_TOKEN: t.deviceToken });
    expect(await sim.exit).toBe(0);
    expect(sim.output()).toContain('PAYMENT ACCEPTED');
    const paid = (await merchantApi(app, c.apiKey)('GET', `/terminals/${t.id}/transactions/${created.json().id}`)).json();
    expect(paid).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'MASTERCARD' });
    // Without --outcome the card route is refused there: the run does not pay.
    const card = spawnCloudpos(['terminal', 'run', '--server', `http://127.0.0.1:${port}`, '--card', '5555555555554444', '--once', '--retry-ms', '100'], { CLOUDPOS_DEVICE_TOKEN: t.deviceToken });
    const again = await merchantApi(app, c.apiKey)('POST', `/terminals/${t.id}/transactions`, { type: 'PURCHASE', merchant_order_reference: 'prod-2', amount: { value: 1, currency: 'EUR' } });
    expect(again.statusCode).toBe(201);
    expect(await card.exit).toBe(1);
    expect(card.output()).toMatch(/card refused: 403/);
  });
});
