import { describe, it, expect } from 'vitest';
import { AcquirerUnavailableError, isAcquirerUnavailable, type AuthorizationRequest } from '../../src/acquirer/acquirer.js';
import { SANDBOX_CARDS, SandboxAcquirer } from '../../src/acquirer/sandbox.js';
import { detectBrand, luhnValid } from '../../src/domain/card.js';

const request = (number: string, amount_minor = 9875): AuthorizationRequest => ({
  transaction_id: '5456485215432746823746654987115',
  type: 'PURCHASE',
  amount_minor,
  currency: 'EUR',
  card: { number, expiry: '12/30', entry_mode: 'CONTACTLESS' },
  terminal_id: 'SUNMI-P2lite-PL0919CQ00305',
  stan: '000001',
});

const fast = () => new SandboxAcquirer({ timeoutMs: 50, slowMs: 20 });

describe('SANDBOX_CARDS', () => {
  it('holds the required cards', () => {
    const find = (n: string) => SANDBOX_CARDS.find((c) => c.number === n);
    expect(find('4111111111111111')).toMatchObject({ brand: 'VISA', outcome: 'APPROVED' });
    expect(find('4000000000000002')).toMatchObject({ brand: 'VISA', outcome: 'DECLINED' });
    expect(find('5555555555554444')).toMatchObject({ brand: 'MASTERCARD', outcome: 'APPROVED' });
    expect(find('378282246310005')).toMatchObject({ brand: 'AMEX', outcome: 'APPROVED' });
    for (const brand of ['V_PAY', 'MAESTRO'] as const) {
      expect(SANDBOX_CARDS.some((c) => c.brand === brand && c.outcome === 'APPROVED')).toBe(true);
    }
    expect(SANDBOX_CARDS.some((c) => c.decline_reason === 'INSUFFICIENT_FUNDS')).toBe(true);
    expect(SANDBOX_CARDS.some((c) => c.behaviour === 'TIMEOUT')).toBe(true);
    expect(SANDBOX_CARDS.some((c) => c.behaviour === 'SLOW_APPROVE')).toBe(true);
  });
  it.each(SANDBOX_CARDS.map((c) => [c.number, c] as const))('%s passes Luhn and BIN detection', (number, card) => {
    expect(luhnValid(number)).toBe(true);
    expect(detectBrand(number)).toBe(card.brand);
    expect(number).toMatch(/^\d{12,19}$/);
  });
  it('has unique numbers', () => {
    expect(new Set(SANDBOX_CARDS.map((c) => c.number)).size).toBe(SANDBOX_CARDS.length);
  });
});

describe('SandboxAcquirer', () => {
  it('approves and declines by card, for every approving or declining card', async () => {
    const acquirer = fast();
    for (const card of SANDBOX_CARDS.filter((c) => c.behaviour === 'APPROVE' || c.behaviour === 'DECLINE')) {
      const res = await acquirer.authorize(request(card.number));
      expect(res.outcome).toBe(card.outcome);
      expect(res.brand).toBe(card.brand);
      if (res.outcome === 'APPROVED') {
        expect(res.authorization_code).toMatch(/^[A-Z0-9]{6}$/);
        expect(res.decline_reason).toBeUndefined();
      } else {
        expect(res.authorization_code).toBeUndefined();
        expect(res.decline_reason).toBe(card.decline_reason);
      }
    }
  });

  it('answers slowly but approves', async () => {
    const started = Date.now();
    const res = await fast().authorize(request('5105105105105100'));
    expect(res.outcome).toBe('APPROVED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('never answers the timeout card: AcquirerUnavailableError after timeoutMs', async () => {
    const started = Date.now();
    const error = await fast().authorize(request('4000000000000119')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcquirerUnavailableError);
    expect(isAcquirerUnavailable(error)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('honours the abort signal', async () => {
    const acquirer = new SandboxAcquirer({ timeoutMs: 60_000, slowMs: 60_000 });
    for (const number of ['4000000000000119', '5105105105105100']) {
      const controller = new AbortController();
      const pending = acquirer.authorize(request(number), controller.signal);
      setTimeout(() => controller.abort(new Error('platform timeout')), 10);
      await expect(pending).rejects.toBeInstanceOf(AcquirerUnavailableError);
    }
    await expect(acquirer.authorize(request('4111111111111111'), AbortSignal.abort())).rejects.toBeInstanceOf(
      AcquirerUnavailableError,
    );
  });

  it('decides other cards by amount, and declines numbers failing Luhn', async () => {
    const acquirer = fast();
    const other = '4012888888881881';
    expect((await acquirer.authorize(request(other, 1000))).outcome).toBe('APPROVED');
    expect(await acquirer.authorize(request(other, 1051))).toMatchObject({ outcome: 'DECLINED', decline_reason: 'DO_NOT_HONOUR', brand: 'VISA' });
    expect(await acquirer.authorize(request('4111111111111112'))).toMatchObject({ outcome: 'DECLINED', decline_reason: 'INVALID_CARD' });
  });

  it('uses default timings', () => {
    const a = new SandboxAcquirer();
    expect(a.timeoutMs).toBe(10_000);
    expect(a.slowMs).toBe(3_000);
  });
});
