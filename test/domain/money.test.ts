import { describe, it, expect } from 'vitest';
import {
  currencyDigits,
  formatAmount,
  formatMoney,
  MAX_MINOR_UNITS,
  moneyOf,
  toMajorUnits,
  toMinorUnits,
} from '../../src/domain/money.js';

const minor = (value: number, currency: string, max?: number) => {
  const r = toMinorUnits(value, currency, max);
  return r.ok ? r.value : r.error;
};

describe('currencyDigits', () => {
  it('knows ISO 4217 minor units', () => {
    expect(currencyDigits('EUR')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
    expect(currencyDigits('KWD')).toBe(3);
    expect(currencyDigits('CLF')).toBe(4);
  });
  it('refuses unknown, lower-case and minor-unit-less codes', () => {
    for (const c of ['XYZ', 'eur', 'EURO', '', 'XAU', 'XXX', 'XTS', 'XDR']) expect(currencyDigits(c)).toBeUndefined();
  });
  it('keeps real zero-digit X codes', () => {
    expect(currencyDigits('XOF')).toBe(0);
    expect(currencyDigits('XAF')).toBe(0);
  });
});

describe('toMinorUnits', () => {
  it('converts exactly through the decimal representation', () => {
    expect(minor(98.75, 'EUR')).toBe(9875);
    expect(minor(0.29, 'EUR')).toBe(29);
    expect(minor(1.15, 'EUR')).toBe(115);
    expect(minor(4.35, 'EUR')).toBe(435);
    expect(minor(0.01, 'EUR')).toBe(1);
    expect(minor(100, 'EUR')).toBe(10000);
    expect(minor(1000, 'JPY')).toBe(1000);
    expect(minor(1.25, 'KWD')).toBe(1250);
    expect(minor(1.001, 'KWD')).toBe(1001);
  });
  it('refuses more decimals than the currency allows', () => {
    expect(toMinorUnits(98.755, 'EUR')).toEqual({ ok: false, error: 'INVALID_AMOUNT', detail: 'EUR allows at most 2 decimals' });
    expect(toMinorUnits(1.5, 'JPY')).toEqual({ ok: false, error: 'INVALID_AMOUNT', detail: 'JPY allows no decimals' });
    expect(minor(1.0001, 'KWD')).toBe('INVALID_AMOUNT');
    expect(minor(0.1 + 0.2, 'EUR')).toBe('INVALID_AMOUNT');
    expect(minor(1e-7, 'EUR')).toBe('INVALID_AMOUNT');
    expect(minor(1.5e-7, 'KWD')).toBe('INVALID_AMOUNT');
  });
  it('refuses zero, -0, negative and non-finite values', () => {
    for (const v of [0, -0, -1, -98.75, NaN, Infinity, -Infinity]) expect(minor(v, 'EUR')).toBe('INVALID_AMOUNT');
    expect(minor('5' as unknown as number, 'EUR')).toBe('INVALID_AMOUNT');
  });
  it('refuses amounts too large to read back exactly, and above a configured limit', () => {
    expect(minor(1e21, 'EUR')).toBe('INVALID_AMOUNT');
    expect(minor(1e21, 'JPY')).toBe('INVALID_AMOUNT');
    expect(minor(Number.MAX_SAFE_INTEGER, 'JPY')).toBe('INVALID_AMOUNT');
    expect(minor(Number.MAX_VALUE, 'JPY')).toBe('INVALID_AMOUNT');
    expect(minor(MAX_MINOR_UNITS, 'JPY')).toBe(MAX_MINOR_UNITS);
    expect(minor(9_999_999_999_999.99, 'EUR')).toBe(MAX_MINOR_UNITS);
    expect(minor(1e14, 'JPY')).toBe(1e14);
    expect(minor(1000, 'EUR', 100_000)).toBe(100_000);
    const over = toMinorUnits(1000.01, 'EUR', 100_000);
    expect(over).toEqual({ ok: false, error: 'INVALID_AMOUNT', detail: 'amount value must not exceed 1000.00 EUR' });
  });
  it('accepts exponent notation that is whole', () => {
    expect(minor(1e3, 'JPY')).toBe(1000);
    expect(minor(1e-2, 'EUR')).toBe(1);
    expect(minor(1e-3, 'KWD')).toBe(1);
  });
  it('names the problem with the currency', () => {
    const r = toMinorUnits(5, 'XYZ');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBe('UNKNOWN_CURRENCY');
      expect(r.detail).toContain('XYZ');
    }
    const gold = toMinorUnits(5, 'XAU');
    expect(gold.ok === false && gold.error).toBe('UNKNOWN_CURRENCY');
    expect(minor(5, 'eur')).toBe('UNKNOWN_CURRENCY');
  });
});

describe('toMajorUnits', () => {
  it('reads back exactly what was sent', () => {
    for (const [v, c] of [
      [98.75, 'EUR'], [0.29, 'EUR'], [0.01, 'EUR'], [1.1, 'EUR'], [123456.78, 'EUR'], [9_999_999_999_999.99, 'EUR'],
      [1000, 'JPY'], [1.25, 'KWD'], [0.001, 'KWD'], [0.0001, 'CLF'],
    ] as const) {
      const r = toMinorUnits(v, c);
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(toMajorUnits(r.value, c)).toBe(v);
        expect(JSON.stringify(moneyOf(r.value, c))).toBe(`{"value":${JSON.stringify(v)},"currency":"${c}"}`);
      }
    }
  });
  it('round-trips every cent up to 100 EUR', () => {
    for (let m = 1; m <= 10_000; m++) {
      const r = toMinorUnits(toMajorUnits(m, 'EUR'), 'EUR');
      expect(r.ok && r.value).toBe(m);
    }
  });
  it('handles zero and negatives without -0', () => {
    expect(Object.is(toMajorUnits(0, 'EUR'), 0)).toBe(true);
    expect(toMajorUnits(-1050, 'EUR')).toBe(-10.5);
  });
  it('throws on programming errors', () => {
    expect(() => toMajorUnits(1.5, 'EUR')).toThrow(RangeError);
    expect(() => toMajorUnits(1, 'XYZ')).toThrow(RangeError);
  });
});

describe('formatAmount', () => {
  it('prints fixed decimals', () => {
    expect(formatAmount(9875, 'EUR')).toBe('98.75');
    expect(formatAmount(5, 'EUR')).toBe('0.05');
    expect(formatAmount(0, 'EUR')).toBe('0.00');
    expect(formatAmount(1000, 'JPY')).toBe('1000');
    expect(formatAmount(1250, 'KWD')).toBe('1.250');
    expect(formatAmount(-50, 'EUR')).toBe('-0.50');
    expect(formatAmount(-1000, 'JPY')).toBe('-1000');
  });
  it('formats Money in major units the same way', () => {
    expect(formatMoney({ value: 98.7, currency: 'EUR' })).toBe('98.70');
    expect(formatMoney({ value: -10, currency: 'EUR' })).toBe('-10.00');
    expect(formatMoney({ value: -0, currency: 'EUR' })).toBe('0.00');
    expect(formatMoney({ value: 1.25, currency: 'KWD' })).toBe('1.250');
  });
});
