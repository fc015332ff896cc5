import { describe, it, expect } from 'vitest';
import { detectBrand, last4, luhnValid, maskedCard, validateCard } from '../../src/domain/card.js';

const now = new Date('2025-06-15T12:00:00Z');

describe('luhnValid', () => {
  it('checks the Luhn digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4013250000000000006')).toBe(true);
  });
  it('refuses anything but digits', () => {
    for (const s of ['', '4', '4111 1111 1111 1111', '4111-1111-1111-1111', 'abcd']) expect(luhnValid(s)).toBe(false);
  });
});

describe('detectBrand', () => {
  it.each([
    ['4111111111111111', 'VISA'],
    ['4000000000000002', 'VISA'],
    ['4013250000000000006', 'V_PAY'],
    ['5555555555554444', 'MASTERCARD'],
    ['5105105105105100', 'MASTERCARD'],
    ['2223003122003222', 'MASTERCARD'],
    ['2720990000000000', 'MASTERCARD'],
    ['6759649826438453', 'MAESTRO'],
    ['6771798021000008', 'MAESTRO'],
    ['5018000000000000', 'MAESTRO'],
    ['378282246310005', 'AMEX'],
    ['371449635398431', 'AMEX'],
    ['6011111111111117', 'UNKNOWN'],
    ['2721000000000000', 'UNKNOWN'],
    ['2220990000000000', 'UNKNOWN'],
    ['', 'UNKNOWN'],
    ['4x', 'UNKNOWN'],
  ])('%s is %s', (pan, brand) => {
    expect(detectBrand(pan)).toBe(brand);
  });
});

describe('masking', () => {
  it('shows only the last four', () => {
    expect(maskedCard('1111')).toBe('************1111');
    expect(maskedCard(last4('378282246310005'))).toBe('************0005');
    expect(last4('4111111111111111')).toBe('1111');
    expect(maskedCard('4111111111111111')).toBe('************1111');
    expect(maskedCard('12a3')).toBe('************123');
  });
});

describe('validateCard', () => {
  it('returns what may be kept, never the number', () => {
    const r = validateCard({ number: '4111111111111111', expiry: '12/30' }, now);
    expect(r).toEqual({ ok: true, value: { last4: '1111', brand: 'VISA', expiry: '12/30' } });
    expect(JSON.stringify(r)).not.toContain('4111111111111111');
  });
  it('refuses bad numbers without echoing them', () => {
    for (const number of ['411111111111', '41111111111111111111', '4111 1111 1111 1111', '4111111111111112', '']) {
      const r = validateCard({ number, expiry: '12/30' }, now);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBe('INVALID_CARD');
        if (number) expect(r.detail).not.toContain(number);
      }
    }
  });
  it('accepts 12 to 19 digits', () => {
    expect(validateCard({ number: '4013250000000000006', expiry: '12/30' }, now).ok).toBe(true);
    expect(validateCard({ number: '400000000006', expiry: '12/30' }, now).ok).toBe(luhnValid('400000000006'));
  });
  it('checks the expiry', () => {
    const v = (expiry: string) => validateCard({ number: '4111111111111111', expiry }, now).ok;
    expect(v('06/25')).toBe(true); // valid through the end of its month
    expect(v('05/25')).toBe(false);
    expect(v('12/24')).toBe(false);
    expect(v('01/26')).toBe(true);
    for (const bad of ['13/30', '00/30', '1/30', '12/2030', '1230', '']) expect(v(bad)).toBe(false);
  });
});
