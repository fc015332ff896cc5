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

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', POLL_INTERVAL_MS: '200', LONG_POLL_MAX_S: '5', DATABASE_URL: db.url }), store: db.store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await onboard(app); // another customer's terminal, so that there is a choice
    customer = await onboard(app);
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

  it('polls, shows a payment with its amount, approves a tapped card, and turns offline when the server stops', async () => {
    const terminal = customer.terminals[0]!.id;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${base}/simulator`);
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
    await app.close();
    await expect.poll(() => bar.getAttribute('data-status'), { timeout: 15_000 }).toBe('offline');
    expect(await bar.innerText()).toContain('offline');
    await page.screenshot({ path: join(ROOT, 'test-results/simulator-offline.png') });
    expect(errors).toEqual([]);
  });

  it('is not there outside the sandbox', async () => {
    const other = await createTestDatabase('sqlite');
    const production = await buildApp({
      config: loadConfig({ LOG_LEVEL: 'silent', CLOUDPOS_ENV: 'production', PUBLIC_URL: 'https://pay.example.com', DATABASE_URL: other.url }),
      store: other.store,
      acquirer: { authorize: async () => ({ outcome: 'DECLINED', brand: 'VISA', decline_reason: 'TEST' }) },
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
