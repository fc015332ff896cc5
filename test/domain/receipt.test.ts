import { describe, it, expect } from 'vitest';
import {
  localDateTime,
  outcomeLine,
  renderReceipt,
  wrapText,
  type ReceiptInput,
} from '../../src/domain/receipt.js';

const base: ReceiptInput = {
  merchant_name: 'MERCHANT NAME',
  store_name: 'The configured Shopname',
  store_address: 'Keizersgracht 123\n1015 CJ Amsterdam',
  terminal_id: 'SUNMI-P2lite-PL0919CQ00305',
  type: 'PURCHASE',
  transaction_datetime: new Date('2022-01-18T14:31:02Z'),
  timezone: 'Europe/Amsterdam',
  brand: 'V_PAY',
  card_last4: '1111',
  entry_mode: 'CONTACTLESS',
  amount_minor: 9875,
  currency: 'EUR',
  stan: '155890',
  authorization_code: 'A1B2C3',
  outcome: 'APPROVED',
  copy: 'CARDHOLDER',
};

const lines = (s: string) => s.replace(/\n$/, '').split('\n');

describe('renderReceipt', () => {
  for (const width of [24, 32, 40, 48]) {
    it(`keeps every line at exactly ${width} columns`, () => {
      const long: ReceiptInput = {
        ...base,
        merchant_name: 'A Very Long Merchant Name That Never Ends Incorporated',
        store_name: 'Supercalifragilisticexpialidocious-Store-Number-Twelve',
        store_address: 'A street with an exceptionally long name 1234567890123456789012345678901234567890\n\n1015 CJ',
        terminal_id: 'MANUFACTURERWITHALONGNAME-Model-With-Many-Dashes-SERIAL0123456789012345678901234567890',
        brand: 'MASTERCARD',
        type: 'PRE_AUTHORIZATION',
        amount_minor: 999_999_999_999_999,
        outcome: 'DECLINED',
        decline_reason: 'INSUFFICIENT_FUNDS',
      };
      for (const r of [base, long]) {
        const text = renderReceipt(r, width);
        expect(text.endsWith('\n')).toBe(true);
        for (const l of lines(text)) expect(l.length).toBe(width);
      }
    });
  }

  it('looks like the guide: centred header and outcome, copy line', () => {
    const text = renderReceipt(base, 24);
    const ls = lines(text);
    expect(ls[0]).toBe('     MERCHANT NAME      ');
    expect(ls).toContain('    PAYMENT ACCEPTED    ');
    expect(ls).toContain('TERMINAL                ');
    expect(text).toContain('SUNMI-P2lite-');
    expect(ls).toContain('DATE          2022-01-18');
    expect(ls).toContain('TIME            15:31:02'); // Amsterdam is UTC+1 in January
    expect(ls).toContain('AMOUNT         EUR 98.75');
    expect(ls).toContain('STAN              155890');
    expect(ls).toContain('AUTH CODE         A1B2C3');
    expect(ls).toContain('ENTRY        CONTACTLESS');
    expect(ls).toContain('V PAY   ************1111');
    expect(ls[ls.length - 1]).toBe('    CARDHOLDER COPY     ');
    expect(text).toContain('Keizersgracht 123');
  });

  it('prints the last four only, never a full number, even if one is passed by mistake', () => {
    const text = renderReceipt({ ...base, card_last4: '4111111111111111' }, 48);
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toMatch(/\d{5,}1111/);
    expect(text).toContain('************1111');
  });

  it('prints outcome per type and the decline reason', () => {
    expect(outcomeLine('PURCHASE', 'DECLINED')).toBe('PAYMENT DECLINED');
    expect(outcomeLine('REFUND', 'APPROVED')).toBe('REFUND ACCEPTED');
    expect(outcomeLine('PRE_AUTHORIZATION', 'APPROVED')).toBe('AUTHORIZATION ACCEPTED');
    expect(outcomeLine('PURCHASE', 'CANCELLED')).toBe('PAYMENT CANCELLED');
    const text = renderReceipt({ ...base, outcome: 'DECLINED', authorization_code: undefined, decline_reason: 'INSUFFICIENT_FUNDS', copy: 'MERCHANT' }, 32);
    expect(text).toContain('PAYMENT DECLINED');
    expect(text).toContain('INSUFFICIENT FUNDS');
    expect(text).toContain('MERCHANT COPY');
    expect(text).not.toContain('AUTH CODE');
  });

  it('formats currencies with their own decimals and works without an address', () => {
    expect(renderReceipt({ ...base, currency: 'JPY', amount_minor: 1000, store_address: '' }, 24)).toContain('JPY 1000');
    expect(renderReceipt({ ...base, currency: 'KWD', amount_minor: 1250 }, 24)).toContain('KWD 1.250');
  });

  it('refuses unsupported widths', () => {
    for (const w of [23, 49, 30.5]) expect(() => renderReceipt(base, w)).toThrow(RangeError);
  });
});

describe('localDateTime', () => {
  it('converts to the store time zone, across DST and date lines', () => {
    expect(localDateTime(new Date('2022-07-18T23:30:00Z'), 'Europe/Amsterdam')).toEqual({ date: '2022-07-19', time: '01:30:00' });
    expect(localDateTime(new Date('2022-01-01T00:00:00Z'), 'UTC')).toEqual({ date: '2022-01-01', time: '00:00:00' });
    expect(localDateTime(new Date('2022-01-01T03:00:00Z'), 'America/New_York')).toEqual({ date: '2021-12-31', time: '22:00:00' });
  });
});

describe('wrapText', () => {
  it('never yields a line longer than the width', () => {
    for (const l of wrapText('x'.repeat(100) + ' a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p', 7)) expect(l.length).toBeLessThanOrEqual(7);
  });
});
