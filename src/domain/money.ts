import { code as currencyByCode } from 'currency-codes';
import { type Result, ok, err } from './result.js';

/** Money as the MerchantAPI shows it: major units, exactly as many decimals as the currency allows. */
export type Money = { value: number; currency: string };

export type AmountError = 'INVALID_AMOUNT' | 'UNKNOWN_CURRENCY';

/** Largest amount in minor units we accept. Fifteen significant digits is what a double holds
 * exactly in decimal, so up to here the value read back always equals the value sent
 * (MAX_SAFE_INTEGER has 16 digits and would not guarantee that). */
export const MAX_MINOR_UNITS = 999_999_999_999_999;

/** ISO 4217 lists these with minor unit "N.A." (metals, funds, testing); `currency-codes` reports
 * them as 0 digits, which would make them look payable. */
const NO_MINOR_UNIT = new Set([
  'XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX',
]);

/** Minor-unit digits of an ISO 4217 currency (EUR 2, JPY 0, KWD 3); undefined when the code is
 * unknown, not upper case, or has no minor unit defined. */
export function currencyDigits(code: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(code) || NO_MINOR_UNIT.has(code)) return undefined;
  const digits = currencyByCode(code)?.digits;
  return typeof digits === 'number' && Number.isInteger(digits) && digits >= 0 ? digits : undefined;
}

/** The exact decimal a double stands for, from its shortest round-trip representation
 * (`String(n)`), as integer significand × 10^exponent. Handles "1e-7", "1.5e+21". */
function decimalOf(value: number): { negative: boolean; significand: bigint; exponent: number } {
  const text = String(Math.abs(value));
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a finite decimal: ${text}`);
  const whole = m[1] ?? '0';
  const fraction = m[2] ?? '';
  const exponent = Number(m[3] ?? '0') - fraction.length;
  return { negative: value < 0, significand: BigInt(whole + fraction), exponent };
}

/** Minor units of `value` with `digits` decimals, or undefined when it has more decimals. */
function scaleToMinor(value: number, digits: number): bigint | undefined {
  let { significand, exponent } = decimalOf(value);
  // Trailing zeros of the significand are not decimals ("1e21" is 1 followed by zeros).
  while (significand !== 0n && significand % 10n === 0n) {
    significand /= 10n;
    exponent += 1;
  }
  const shift = exponent + digits;
  if (shift < 0) return undefined;
  const minor = significand * 10n ** BigInt(shift);
  return value < 0 ? -minor : minor;
}

function unknownCurrency(currency: string) {
  const known = /^[A-Z]{3}$/.test(currency) && currencyByCode(currency) !== undefined;
  return err(
    'UNKNOWN_CURRENCY' as const,
    known
      ? `${currency} has no minor unit in ISO 4217 and cannot be used for payments`
      : `'${currency}' is not an ISO 4217 currency code (three upper-case letters, e.g. EUR)`,
  );
}

function decimalsRule(currency: string, digits: number): string {
  return digits === 0 ? `${currency} allows no decimals` : `${currency} allows at most ${digits} decimals`;
}

/** Converts an amount received in major units (a JSON number) to an integer count of minor units.
 * Works on the number's decimal representation, so 0.29 EUR is 29, never 28.999…. */
export function toMinorUnits(value: number, currency: string, maxMinor?: number): Result<number, AmountError> {
  const digits = currencyDigits(currency);
  if (digits === undefined) return unknownCurrency(currency);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return err('INVALID_AMOUNT', 'amount value must be a finite number');
  }
  // `<= 0` also catches -0.
  if (value <= 0) return err('INVALID_AMOUNT', 'amount value must be greater than zero');
  const minor = scaleToMinor(value, digits);
  if (minor === undefined) return err('INVALID_AMOUNT', decimalsRule(currency, digits));
  const limit = Math.min(MAX_MINOR_UNITS, maxMinor ?? MAX_MINOR_UNITS);
  if (minor > BigInt(limit)) {
    return err('INVALID_AMOUNT', `amount value must not exceed ${formatAmount(limit, currency)} ${currency}`);
  }
  return ok(Number(minor));
}

function requireDigits(currency: string): number {
  const digits = currencyDigits(currency);
  // Stored currencies were validated on the way in, so this is a programming error.
  if (digits === undefined) throw new RangeError(`unknown currency ${currency}`);
  return digits;
}

function requireMinor(minor: number): void {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor units must be a safe integer, got ${minor}`);
}

/** "-1234" with 2 digits → "-12.34"; 0 digits → "-1234". */
function minorToDecimal(minor: number, digits: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor)).padStart(digits + 1, '0');
  if (digits === 0) return sign + abs;
  return `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** Exact inverse of toMinorUnits: 9875 EUR → 98.75 (the same double JSON.parse gives for "98.75"). */
export function toMajorUnits(minor: number, currency: string): number {
  const digits = requireDigits(currency);
  requireMinor(minor);
  const value = Number(minorToDecimal(minor, digits));
  return value === 0 ? 0 : value; // never -0 in JSON
}

/** Money as the API shows it. */
export function moneyOf(minor: number, currency: string): Money {
  return { value: toMajorUnits(minor, currency), currency };
}

/** Fixed decimals for receipts: "98.75", "1000" (JPY), "1.250" (KWD), "-0.50". */
export function formatAmount(minor: number, currency: string): string {
  const digits = requireDigits(currency);
  requireMinor(minor);
  return minorToDecimal(minor, digits);
}

/** Formats a Money value (major units, possibly negative or zero) with fixed decimals. */
export function formatMoney(money: Money): string {
  const digits = requireDigits(money.currency);
  const minor = Number.isFinite(money.value) ? scaleToMinor(money.value, digits) : undefined;
  if (minor === undefined) throw new RangeError(`${money.value} is not a ${money.currency} amount`);
  return formatAmount(Number(minor), money.currency);
}
