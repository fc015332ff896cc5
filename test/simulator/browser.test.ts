import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { merchantApi } from '../support/http.js';
import { onboard, type OnboardedCustomer } from '../support/platform.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { ROOT } from './process.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  // Like PostgreSQL in test/global-setup.ts: a notice outside CI, a failure under CI=true (.ci/run installs it).
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI needs Debian's chromium for the browser test`);
  console.warn(`\n*** NOTICE: ${CHROMIUM} is missing: the browser test of /simulator is SKIPPED (apt-get install chromium) ***\n`);
}

describe.skipIf(!available)('the /simulator screen in a browser', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let base = '';
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let customer: OnboardedCustomer;
  let other: OnboardedCustomer;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', POLL_INTERVAL_MS: '200', LONG_POLL_MAX_S: '5', DATABASE_URL: db.url }), store: db.store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    other = await onboard(app, { terminalsPerStore: 2 }); // another customer's terminals, never shown
    customer = await onboard(app, { terminalsPerStore: 2 }); // two: the page asks which one to be
    profile = mkdtempSync(join(tmpdir(), 'cloudpos-chromium-'));
    // A fresh profile of its own (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1000, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    if (app?.server.listening) await app.close();
    await db?.drop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('asks for the API key when it has none, and again when the server refuses it', async () => {
    await page.goto(`${base}/simulator`);
    await expect.poll(() => page.locator('#key-form').isVisible()).toBe(true);
    expect(await page.locator('#picker').isVisible()).toBe(false);
    await page.locator('#key-input').fill('cpos_key_not-a-key');
    await page.locator('#key-submit').click();
    await expect.poll(() => page.locator('#key-error').isVisible()).toBe(true);
    expect(await page.locator('#key-error').innerText()).toMatch(/Invalid API Key/);
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    // The right key through the form: the picker.
    await page.locator('#key-input').fill(customer.apiKey);
    await page.locator('#key-submit').click();
    await expect.poll(() => page.locator('#picker').isVisible()).toBe(true);
    // Another customer's terminal named in the address: not found, back to this customer's list.
    await page.goto(`${base}/simulator?terminal=${other.terminals[0]!.id}`);
    await expect.poll(() => page.locator('#picker-error').isVisible()).toBe(true);
    expect(await page.locator('#picker-error').innerText()).toMatch(/no terminal/i);
    expect(await page.locator('button[data-terminal]').count()).toBe(2);
    expect(page.url()).toBe(`${base}/simulator`);
    await page.goto('about:blank');
  });

  it("opens with the key in the fragment, lists only that customer's terminals, pays through the platform and as a terminal that decides the outcome, and turns offline when the server stops", async () => {
    const terminal = customer.terminals[0]!.id;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${base}/simulator#key=${encodeURIComponent(customer.apiKey)}`);
    await expect.poll(() => page.locator('button[data-terminal]').count()).toBe(2);
    const listed = await page.locator('button[data-terminal]').evaluateAll((buttons) => buttons.map((b) => (b as unknown as { dataset: { terminal: string } }).dataset.terminal));
    expect(listed.sort()).toEqual(customer.terminals.map((t) => t.id).sort());
    for (const t of other.terminals) expect(listed).not.toContain(t.id);
    // The key left the address bar, stays in the tab only, and was never part of a URL sent.
    expect(page.url()).toBe(`${base}/simulator`);
    expect(await page.evaluate(() => Object.values((globalThis as unknown as { sessionStorage: Record<string, string> }).sessionStorage))).toEqual([customer.apiKey]);
    expect(requests.filter((u) => u.includes(customer.apiKey))).toEqual([]);

    await page.locator(`button[data-terminal="${terminal}"]`).click();
    const bar = page.locator('#status-bar');
    await expect.poll(() => bar.getAttribute('data-status')).toBe('polling');
    expect(await bar.innerText()).toContain('connected · polling');
    await expect.poll(() => page.locator('#qr').evaluate((img: { naturalWidth: number }) => img.naturalWidth)).toBeGreaterThan(0);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/simulator-idle.png') });

    const api = merchantApi(app, customer.apiKey);
    const created = await api('POST', `/terminals/${terminal}/transactions`, { type: 'PURCHASE', merchant_order_reference: 'browser-1', amount: { value: 12.5, currency: 'EUR' } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    await expect.poll(() => page.locator('#view-payment').isVisible()).toBe(true);
    expect(await page.locator('#amount').innerText()).toContain('12.50');
    await page.screenshot({ path: join(ROOT, 'test-results/simulator-payment.png') });

    await page.locator('#card').selectOption('4111111111111111');
    await page.getByRole('button', { name: 'Tap' }).click();
    await expect.poll(() => page.locator('#outcome').getAttribute('data-result')).toBe('APPROVED');
    expect(await page.locator('#receipt').innerText()).toContain('PAYMENT ACCEPTED');
    const paid = (await api('GET', `/terminals/${terminal}/transactions/${id}`)).json();
    expect(paid).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'VISA', store: {} });
    expect(paid.receipt).toContain('PAYMENT ACCEPTED');
    await page.screenshot({ path: join(ROOT, 'test-results/simulator.png') });

    await page.locator('#done').click();
    await expect.poll(() => page.locator('#view-idle').isVisible()).toBe(true);

    // The terminal's own payment app decides: presented + outcome, the card number stays in the page.
    await page.locator('#mode-outcome').check();
    const second = await api('POST', `/terminals/${terminal}/transactions`, { type: 'PURCHASE', merchant_order_reference: 'browser-2', amount: { value: 7.25, currency: 'EUR' } });
    expect(second.statusCode).toBe(201);
    await expect.poll(() => page.locator('#view-payment').isVisible()).toBe(true);
    const sent: string[] = [];
    page.on('request', (r) => sent.push(`${r.url()} ${r.postData() ?? ''}`));
    await page.locator('#card').selectOption('5555555555554444');
    await page.getByRole('button', { name: 'Insert' }).click();
    await expect.poll(() => page.locator('#view-outcome').isVisible()).toBe(true);
    expect(await page.locator('#outcome').getAttribute('data-result')).toBe('APPROVED');
    expect(await page.locator('#outcome-amount').innerText()).toContain('7.25');
    expect(await page.locator('#receipt').innerText()).toContain('A0000000041010');
    const reported = (await api('GET', `/terminals/${terminal}/transactions/${second.json().id}`)).json();
    expect(reported).toMatchObject({ status: 'CLEARED', result: 'APPROVED', brand: 'MASTERCARD' });
    expect(sent.some((r) => r.includes('/presented'))).toBe(true);
    expect(sent.some((r) => r.includes('/outcome'))).toBe(true);
    expect(sent.filter((r) => r.includes('/card') || r.includes('5555555555554444'))).toEqual([]);
    await page.screenshot({ path: join(ROOT, 'test-results/simulator-outcome.png') });
    await page.locator('#done').click();
    await expect.poll(() => page.locator('#view-idle').isVisible()).toBe(true);
    await app.close();
    await expect.poll(() => bar.getAttribute('data-status'), { timeout: 15_000 }).toBe('offline');
    expect(await bar.innerText()).toContain('offline');
    await page.screenshot({ path: join(ROOT, 'test-results/simulator-offline.png') });
    expect(errors).toEqual([]);
  });

  it('is not there outside the sandbox', async () => {
    const other = await createTestDatabase('sqlite');
    const production = await buildApp({
      config: loadConfig({ LOG_LEVEL: 'silent', CLOUDPOS_ENV: 'production', DATABASE_URL: other.url, PUBLIC_URL: 'https://pay.example.com', SECRET_ENCRYPTION_KEY: 'ab'.repeat(32) }),
      store: other.store,
    });
    try {
      for (const url of ['/simulator', '/simulator/api/terminals', '/simulator/screen.js']) {
        expect((await production.inject({ url })).statusCode, url).toBe(404);
      }
      const doc = JSON.stringify((await production.inject({ url: '/openapi.json' })).json());
      expect(doc).not.toContain('/simulator');
    } finally {
      await production.close();
      await other.drop();
    }
  });
});
