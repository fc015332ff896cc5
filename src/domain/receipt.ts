import { maskedCard, type Brand, type EntryMode } from './card.js';
import { formatAmount } from './money.js';
import type { TransactionType } from './transaction-lifecycle.js';

export const RECEIPT_MIN_WIDTH = 24;
export const RECEIPT_MAX_WIDTH = 48;
/** The guide's example receipt is 24 columns. */
export const DEFAULT_RECEIPT_WIDTH = 24;

export type ReceiptOutcome = 'APPROVED' | 'DECLINED' | 'CANCELLED';
export type ReceiptCopy = 'MERCHANT' | 'CARDHOLDER';

export type ReceiptInput = {
  merchant_name: string;
  store_name: string;
  /** May span several lines, or be empty. */
  store_address: string;
  terminal_id: string;
  type: TransactionType;
  /** When the acquirer answered; printed in `timezone` (the store's IANA zone). */
  transaction_datetime: Date;
  timezone: string;
  brand: Brand;
  /** Only the last four digits are printed, whatever is passed here. */
  card_last4: string;
  entry_mode: EntryMode;
  amount_minor: number;
  currency: string;
  /** System trace audit number, 6 digits. */
  stan: string;
  authorization_code?: string;
  outcome: ReceiptOutcome;
  /** Printed under the outcome when declined, e.g. "INSUFFICIENT FUNDS". */
  decline_reason?: string;
  /** What the card's chip said, when the terminal reported it. */
  emv?: { aid?: string; application_label?: string; cvm?: CardholderVerification };
  copy: ReceiptCopy;
};

export type CardholderVerification = 'NO_CVM' | 'PIN' | 'SIGNATURE' | 'CDCVM';
export const CARDHOLDER_VERIFICATIONS: readonly CardholderVerification[] = ['NO_CVM', 'PIN', 'SIGNATURE', 'CDCVM'];

const CVM_LINE: Record<CardholderVerification, string> = {
  NO_CVM: 'NO CARDHOLDER VERIFICATION',
  PIN: 'PIN VERIFIED',
  SIGNATURE: 'SIGNATURE VERIFIED',
  CDCVM: 'VERIFIED ON DEVICE',
};

// ---- local time ------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock date (`YYYY-MM-DD`) and time (`HH:MM:SS`) of an instant in an IANA time zone. */
export function localDateTime(instant: Date, timeZone: string): { date: string; time: string } {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(instant)) parts[p.type] = p.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}:${parts.second}`,
  };
}

// ---- fixed-width layout (shared with the day totals receipt) ---------------------------------

/** Splits text into lines of at most `width`, breaking at spaces, then after `-`, then anywhere. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      // Words longer than a line are cut after hyphens where possible, else hard.
      const pieces = word.length <= width ? [word] : splitLongWord(word, width);
      for (const [i, piece] of pieces.entries()) {
        const joiner = i === 0 && line ? ' ' : '';
        if ((line + joiner + piece).length <= width) line += joiner + piece;
        else {
          if (line) lines.push(line);
          line = piece;
        }
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

function splitLongWord(word: string, width: number): string[] {
  const pieces: string[] = [];
  let rest = word;
  while (rest.length > width) {
    const hyphen = rest.lastIndexOf('-', width - 1);
    const cut = hyphen > 0 ? hyphen + 1 : width;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) pieces.push(rest);
  return pieces;
}

export function centre(text: string, width: number): string[] {
  return wrapText(text, width).map((line) => {
    const left = Math.floor((width - line.length) / 2);
    return (' '.repeat(left) + line).padEnd(width);
  });
}

/** `LABEL          value`; when both do not fit, the value goes right-aligned below the label. */
export function labelValue(label: string, value: string, width: number): string[] {
  if (label.length + 1 + value.length <= width) {
    return [label + value.padStart(width - label.length)];
  }
  return [...wrapText(label, width).map((l) => l.padEnd(width)), ...wrapText(value, width).map((l) => l.padStart(width))];
}

export function rule(width: number): string {
  return '-'.repeat(width);
}

export function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < RECEIPT_MIN_WIDTH || width > RECEIPT_MAX_WIDTH) {
    throw new RangeError(`receipt width must be an integer from ${RECEIPT_MIN_WIDTH} to ${RECEIPT_MAX_WIDTH}`);
  }
}

/** Every line padded to exactly `width` like the guide's example, newline-terminated. */
export function joinLines(lines: string[], width: number): string {
  return lines.map((l) => l.padEnd(width)).join('\n') + '\n';
}

export function headerLines(merchant: string, store: string, address: string, width: number): string[] {
  return [...centre(merchant, width), ...centre(store, width), ...address.split(/\r?\n/).flatMap((l) => centre(l, width))];
}

// ---- the transaction receipt ------------------------------------------------------------------

const TYPE_LABEL: Record<TransactionType, string> = {
  PURCHASE: 'PAYMENT',
  REFUND: 'REFUND',
  PRE_AUTHORIZATION: 'AUTHORIZATION',
};

const OUTCOME_WORD: Record<ReceiptOutcome, string> = {
  APPROVED: 'ACCEPTED',
  DECLINED: 'DECLINED',
  CANCELLED: 'CANCELLED',
};

const TYPE_NAME: Record<TransactionType, string> = {
  PURCHASE: 'PURCHASE',
  REFUND: 'REFUND',
  PRE_AUTHORIZATION: 'PRE-AUTHORIZATION',
};

const BRAND_NAME: Record<Brand, string> = {
  VISA: 'VISA',
  V_PAY: 'V PAY',
  MASTERCARD: 'MASTERCARD',
  MAESTRO: 'MAESTRO',
  AMEX: 'AMEX',
  UNKNOWN: 'CARD',
};

/** `PAYMENT ACCEPTED`, `REFUND DECLINED`, `AUTHORIZATION ACCEPTED`, … */
export function outcomeLine(type: TransactionType, outcome: ReceiptOutcome): string {
  return `${TYPE_LABEL[type]} ${OUTCOME_WORD[outcome]}`;
}

export function renderReceipt(r: ReceiptInput, width: number = DEFAULT_RECEIPT_WIDTH): string {
  checkWidth(width);
  const { date, time } = localDateTime(r.transaction_datetime, r.timezone);
  const lines = [
    ...headerLines(r.merchant_name, r.store_name, r.store_address, width),
    rule(width),
    ...labelValue('TERMINAL', r.terminal_id, width),
    ...labelValue('DATE', date, width),
    ...labelValue('TIME', time, width),
    ...labelValue('TYPE', TYPE_NAME[r.type], width),
    ...labelValue(BRAND_NAME[r.brand], maskedCard(r.card_last4), width),
    ...labelValue('ENTRY', r.entry_mode, width),
    ...(r.emv?.application_label ? labelValue('APP', r.emv.application_label, width) : []),
    ...(r.emv?.aid ? labelValue('AID', r.emv.aid, width) : []),
    ...labelValue('STAN', r.stan, width),
    ...(r.authorization_code ? labelValue('AUTH CODE', r.authorization_code, width) : []),
    rule(width),
    ...labelValue('AMOUNT', `${r.currency} ${formatAmount(r.amount_minor, r.currency)}`, width),
    rule(width),
    ...centre(outcomeLine(r.type, r.outcome), width),
    ...(r.outcome === 'DECLINED' && r.decline_reason ? centre(r.decline_reason.replace(/_/g, ' '), width) : []),
    ...(r.outcome === 'APPROVED' && r.emv?.cvm ? centre(CVM_LINE[r.emv.cvm], width) : []),
    // The merchant keeps the signed copy.
    ...(r.outcome === 'APPROVED' && r.emv?.cvm === 'SIGNATURE' && r.copy === 'MERCHANT' ? ['', '', rule(width), ...centre('CARDHOLDER SIGNATURE', width)] : []),
    '',
    ...centre(`${r.copy} COPY`, width),
  ];
  return joinLines(lines, width);
}
