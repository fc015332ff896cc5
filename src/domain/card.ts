import { type Result, ok, err } from './result.js';

export type Brand = 'VISA' | 'V_PAY' | 'MASTERCARD' | 'MAESTRO' | 'AMEX' | 'UNKNOWN';
export type EntryMode = 'CONTACTLESS' | 'CHIP' | 'SWIPE';

export const BRANDS: readonly Brand[] = ['VISA', 'V_PAY', 'MASTERCARD', 'MAESTRO', 'AMEX', 'UNKNOWN'];
export const ENTRY_MODES: readonly EntryMode[] = ['CONTACTLESS', 'CHIP', 'SWIPE'];

/** What may be kept about a card: never the full number. */
export type CardSummary = { last4: string; brand: Brand; expiry: string };

export function luhnValid(pan: string): boolean {
  if (!/^\d{2,}$/.test(pan)) return false;
  let sum = 0;
  let double = false;
  for (let i = pan.length - 1; i >= 0; i--) {
    let d = pan.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** BIN ranges, first match wins. V PAY shares Visa's `4` range and has no public range of its own,
 * so it is listed by issuer prefix (the sandbox's V PAY card); a real acquirer reports the brand. */
const BIN_RANGES: ReadonlyArray<{ brand: Brand; from: string; to: string }> = [
  { brand: 'V_PAY', from: '401325', to: '401325' },
  { brand: 'VISA', from: '4', to: '4' },
  { brand: 'AMEX', from: '34', to: '34' },
  { brand: 'AMEX', from: '37', to: '37' },
  { brand: 'MASTERCARD', from: '51', to: '55' },
  { brand: 'MASTERCARD', from: '2221', to: '2720' },
  { brand: 'MAESTRO', from: '50', to: '50' },
  { brand: 'MAESTRO', from: '56', to: '58' },
  { brand: 'MAESTRO', from: '6304', to: '6304' },
  { brand: 'MAESTRO', from: '639', to: '639' },
  { brand: 'MAESTRO', from: '67', to: '67' },
];

export function detectBrand(pan: string): Brand {
  if (!/^\d+$/.test(pan)) return 'UNKNOWN';
  for (const { brand, from, to } of BIN_RANGES) {
    const prefix = pan.slice(0, from.length);
    if (prefix.length === from.length && prefix >= from && prefix <= to) return brand;
  }
  return 'UNKNOWN';
}

export function last4(pan: string): string {
  return pan.slice(-4);
}

/** `'************1111'`: how a receipt shows a card of which only the last four digits are known.
 * Whatever is passed, at most four digits come out. */
export function maskedCard(lastDigits: string): string {
  return `************${String(lastDigits).replace(/\D/g, '').slice(-4)}`;
}

/** Card as a terminal reports it. The details never repeat the number. */
export function validateCard(
  card: { number: string; expiry: string },
  now: Date,
): Result<CardSummary, 'INVALID_CARD'> {
  const { number, expiry } = card;
  if (typeof number !== 'string' || !/^\d{12,19}$/.test(number)) {
    return err('INVALID_CARD', 'card number must be 12 to 19 digits');
  }
  if (!luhnValid(number)) return err('INVALID_CARD', 'card number fails the Luhn check');
  const m = typeof expiry === 'string' ? /^(\d{2})\/(\d{2})$/.exec(expiry) : null;
  const month = m ? Number(m[1]) : 0;
  if (!m || month < 1 || month > 12) return err('INVALID_CARD', 'card expiry must be MM/YY');
  const year = 2000 + Number(m[2]);
  // A card is valid through the last day of its expiry month; UTC errs on the lenient side.
  if (year * 12 + month < now.getUTCFullYear() * 12 + now.getUTCMonth() + 1) {
    return err('INVALID_CARD', 'card has expired');
  }
  return ok({ last4: last4(number), brand: detectBrand(number), expiry });
}

/** Where a value holds something that looks like a full card number (12 to 19 digits in a row, or
 * more), as a JSON pointer; `allowed` lists pointers whose format rules one out (an EMV AID is hex
 * and may hold long runs of digits). */
export function cardNumberIn(value: unknown, allowed: readonly string[] = [], pointer = ''): string | undefined {
  if (typeof value === 'string') return !allowed.includes(pointer) && /\d{12}/.test(value) ? pointer : undefined;
  if (value && typeof value === 'object') {
    for (const [key, member] of Object.entries(value)) {
      if (/\d{12}/.test(key)) return pointer;
      const found = cardNumberIn(member, allowed, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
