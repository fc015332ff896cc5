import { BRANDS, type Brand } from './card.js';
import { type Money, formatMoney, moneyOf } from './money.js';
import {
  centre,
  checkWidth,
  headerLines,
  joinLines,
  labelValue,
  localDateTime,
  rule,
  DEFAULT_RECEIPT_WIDTH,
} from './receipt.js';
import {
  TRANSACTION_TYPES,
  type PublicStatus,
  type TransactionResult,
  type TransactionType,
} from './transaction-lifecycle.js';

/** What day totals need of a transaction. For a captured pre-authorization, `amount_minor` must be
 * the captured amount, not the authorized one. */
export type DayTotalsTransaction = {
  type: TransactionType;
  status: PublicStatus;
  result?: TransactionResult | null;
  brand?: Brand | null;
  amount_minor: number;
  currency: string;
};

export type CountAndTotal = { count: number; total: Money };
export type TypeTotals = { type: TransactionType } & CountAndTotal;
/** `net_total`: money in minus money out for the brand (refunds subtract). */
export type BrandTotals = { brand: Brand; count: number; net_total: Money };

/** Totals of one currency. Only cleared transactions moved money; authorized pre-authorizations
 * (not yet captured or released) are shown apart and are not in the net. */
export type CurrencyDayTotals = {
  currency: string;
  /** Cleared transactions of every type. */
  count: number;
  /** Purchases + captured pre-authorizations − refunds. */
  net_total: Money;
  per_type: TypeTotals[];
  per_brand: BrandTotals[];
  open_pre_authorizations: CountAndTotal;
};

/** JSON shape of the day totals (the service adds date, terminal and `receipt`). */
export type DayTotals = { currencies: CurrencyDayTotals[] };

type Tally = { count: number; minor: number };
type CurrencyTally = {
  perType: Map<TransactionType, Tally>;
  perBrand: Map<Brand, Tally>;
  net: Tally;
  open: Tally;
};

const emptyTally = (): Tally => ({ count: 0, minor: 0 });

function add(t: Tally, minor: number): void {
  t.count += 1;
  t.minor += minor;
  // Far beyond any real day; better to fail loudly than print a rounded total.
  if (!Number.isSafeInteger(t.minor)) throw new RangeError('day total exceeds the safe integer range');
}

/** Counts and sums per currency, type and brand. `currencies` are always listed (with zeros), so a
 * quiet day still shows the store's currency. */
export function computeDayTotals(
  txs: readonly DayTotalsTransaction[],
  options: { currencies?: readonly string[] } = {},
): DayTotals {
  const byCurrency = new Map<string, CurrencyTally>();
  const tallyOf = (currency: string): CurrencyTally => {
    let t = byCurrency.get(currency);
    if (!t) {
      t = { perType: new Map(), perBrand: new Map(), net: emptyTally(), open: emptyTally() };
      for (const type of TRANSACTION_TYPES) t.perType.set(type, emptyTally());
      byCurrency.set(currency, t);
    }
    return t;
  };
  for (const c of options.currencies ?? []) tallyOf(c);

  for (const tx of txs) {
    if (tx.result === 'DECLINED') continue;
    if (tx.status === 'AUTHORIZED' && tx.type === 'PRE_AUTHORIZATION') {
      add(tallyOf(tx.currency).open, tx.amount_minor);
      continue;
    }
    if (tx.status !== 'CLEARED') continue;
    const t = tallyOf(tx.currency);
    const signed = tx.type === 'REFUND' ? -tx.amount_minor : tx.amount_minor;
    add(t.perType.get(tx.type)!, tx.amount_minor);
    const brand = tx.brand ?? 'UNKNOWN';
    if (!t.perBrand.has(brand)) t.perBrand.set(brand, emptyTally());
    add(t.perBrand.get(brand)!, signed);
    add(t.net, signed);
  }

  const currencies = [...byCurrency.keys()].sort().map((currency): CurrencyDayTotals => {
    const t = byCurrency.get(currency)!;
    const money = (minor: number) => moneyOf(minor, currency);
    return {
      currency,
      count: t.net.count,
      net_total: money(t.net.minor),
      per_type: TRANSACTION_TYPES.map((type) => {
        const x = t.perType.get(type)!;
        return { type, count: x.count, total: money(x.minor) };
      }),
      per_brand: BRANDS.filter((b) => t.perBrand.has(b)).map((brand) => {
        const x = t.perBrand.get(brand)!;
        return { brand, count: x.count, net_total: money(x.minor) };
      }),
      open_pre_authorizations: { count: t.open.count, total: money(t.open.minor) },
    };
  });
  return { currencies };
}

export type DayTotalsReceiptOptions = {
  merchant: string;
  store: string;
  store_address?: string;
  terminal_id: string;
  /** Local date in the store's time zone, YYYY-MM-DD. */
  date: string;
  width?: number;
};

const TYPE_ROW: Record<TransactionType, string> = {
  PURCHASE: 'PURCHASES',
  REFUND: 'REFUNDS',
  PRE_AUTHORIZATION: 'CAPTURES',
};

const BRAND_ROW: Record<Brand, string> = {
  VISA: 'VISA',
  V_PAY: 'V PAY',
  MASTERCARD: 'MASTERCARD',
  MAESTRO: 'MAESTRO',
  AMEX: 'AMEX',
  UNKNOWN: 'OTHER',
};

/** `LABEL     3 x 120.00`; labelValue puts the numbers under the label when narrow. */
function countRow(label: string, count: number, amount: string, width: number): string[] {
  return labelValue(label, `${count} x ${amount}`, width);
}

export function renderDayTotalsReceipt(totals: DayTotals, options: DayTotalsReceiptOptions): string {
  const width = options.width ?? DEFAULT_RECEIPT_WIDTH;
  checkWidth(width);
  const lines = [
    ...headerLines(options.merchant, options.store, options.store_address ?? '', width),
    rule(width),
    ...centre('DAY TOTALS', width),
    ...labelValue('DATE', options.date, width),
    ...labelValue('TERMINAL', options.terminal_id, width),
  ];
  if (totals.currencies.length === 0) {
    lines.push(rule(width), ...centre('NO TRANSACTIONS', width));
  }
  for (const c of totals.currencies) {
    lines.push(rule(width), ...labelValue('CURRENCY', c.currency, width));
    for (const t of c.per_type) lines.push(...countRow(TYPE_ROW[t.type], t.count, formatMoney(t.total), width));
    lines.push(...labelValue('NET TOTAL', formatMoney(c.net_total), width));
    if (c.per_brand.length > 0) {
      lines.push('', ...centre('PER BRAND (NET)', width));
      for (const b of c.per_brand) lines.push(...countRow(BRAND_ROW[b.brand], b.count, formatMoney(b.net_total), width));
    }
    if (c.open_pre_authorizations.count > 0) {
      // Authorized but not captured: money not moved yet, so outside the net.
      lines.push('', ...centre('OPEN PRE-AUTHS', width));
      lines.push(...countRow('AUTHORIZED', c.open_pre_authorizations.count, formatMoney(c.open_pre_authorizations.total), width));
    }
  }
  lines.push(rule(width), ...centre('END OF DAY TOTALS', width));
  return joinLines(lines, width);
}

/** Milliseconds the zone is ahead of UTC at `instant`. */
function zoneOffset(instant: number, timeZone: string): number {
  const { date, time } = localDateTime(new Date(instant), timeZone);
  const wall = Date.parse(`${date}T${time}Z`);
  return wall - Math.floor(instant / 1000) * 1000;
}

const HOUR_MS = 3_600_000;

/** The first instant whose date in the zone is `date` (or later): local midnight, or, where a
 * DST change skips midnight (America/Santiago, America/Havana, Asia/Beirut), the instant the clock
 * jumps to 01:00; where midnight happens twice, the first. */
function startOfLocalDate(date: string, timeZone: string): number {
  const dateAt = (instant: number) => localDateTime(new Date(instant), timeZone).date;
  const wall = Date.parse(`${date}T00:00:00Z`);
  let guess = wall - zoneOffset(wall, timeZone);
  // A second pass settles days where the offset changes between the guess and midnight.
  guess = wall - zoneOffset(guess, timeZone);
  if (dateAt(guess) >= date && dateAt(guess - 1) < date) return guess;
  // No midnight, or two: search the instant the date begins. Zone offsets stay within ±16 h, and
  // the local date only moves forward across a day boundary.
  let before = wall - 18 * HOUR_MS;
  let from = wall + 18 * HOUR_MS;
  while (from - before > 1) {
    const mid = Math.floor((before + from) / 2);
    if (dateAt(mid) >= date) from = mid;
    else before = mid;
  }
  return from;
}

/** Today's date in the store's zone and the UTC half-open range [start, end) that covers it, for
 * selecting the day's transactions. DST days are 23 or 25 hours long (or 23.5, 24.5: Lord Howe). */
export function localDay(now: Date, timeZone: string): { date: string; start: Date; end: Date } {
  const { date } = localDateTime(now, timeZone);
  const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { date, start: new Date(startOfLocalDate(date, timeZone)), end: new Date(startOfLocalDate(next, timeZone)) };
}
