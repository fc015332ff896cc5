import { describe, it, expect } from 'vitest';
import {
  computeDayTotals,
  localDay,
  renderDayTotalsReceipt,
  type DayTotalsTransaction,
} from '../../src/domain/day-totals.js';

const tx = (t: Partial<DayTotalsTransaction>): DayTotalsTransaction => ({
  type: 'PURCHASE',
  status: 'CLEARED',
  result: 'APPROVED',
  brand: 'VISA',
  amount_minor: 1000,
  currency: 'EUR',
  ...t,
});

const day: DayTotalsTransaction[] = [
  tx({ amount_minor: 9875 }),
  tx({ amount_minor: 10, brand: 'MASTERCARD' }),
  tx({ amount_minor: 20, brand: 'MASTERCARD' }),
  tx({ type: 'REFUND', amount_minor: 1000 }),
  tx({ type: 'PRE_AUTHORIZATION', status: 'CLEARED', amount_minor: 3000, brand: 'AMEX' }), // captured
  tx({ type: 'PRE_AUTHORIZATION', status: 'AUTHORIZED', amount_minor: 5000, brand: 'AMEX' }), // open
  tx({ status: 'CANCELLED', result: 'DECLINED', amount_minor: 777 }),
  tx({ status: 'CANCELLED', result: undefined, amount_minor: 888 }),
  tx({ status: 'CREATED', result: undefined, amount_minor: 999 }),
  tx({ type: 'PRE_AUTHORIZATION', status: 'CANCELLED', result: 'APPROVED', amount_minor: 4444 }), // released
];

describe('computeDayTotals', () => {
  it('counts only money moved; open pre-authorizations apart', () => {
    const { currencies } = computeDayTotals(day);
    expect(currencies).toHaveLength(1);
    const eur = currencies[0]!;
    expect(eur.currency).toBe('EUR');
    expect(eur.count).toBe(5);
    // 98.75 + 0.10 + 0.20 + 30.00 - 10.00: exact, not 119.05000000000001
    expect(eur.net_total).toEqual({ value: 119.05, currency: 'EUR' });
    expect(eur.per_type).toEqual([
      { type: 'PURCHASE', count: 3, total: { value: 99.05, currency: 'EUR' } },
      { type: 'REFUND', count: 1, total: { value: 10, currency: 'EUR' } },
      { type: 'PRE_AUTHORIZATION', count: 1, total: { value: 30, currency: 'EUR' } },
    ]);
    expect(eur.per_brand).toEqual([
      { brand: 'VISA', count: 2, net_total: { value: 88.75, currency: 'EUR' } },
      { brand: 'MASTERCARD', count: 2, net_total: { value: 0.3, currency: 'EUR' } },
      { brand: 'AMEX', count: 1, net_total: { value: 30, currency: 'EUR' } },
    ]);
    expect(eur.open_pre_authorizations).toEqual({ count: 1, total: { value: 50, currency: 'EUR' } });
  });

  it('keeps currencies apart and sorted, net may be negative', () => {
    const { currencies } = computeDayTotals([
      tx({ currency: 'JPY', amount_minor: 1000 }),
      tx({ currency: 'EUR', type: 'REFUND', amount_minor: 250, brand: null }),
    ]);
    expect(currencies.map((c) => c.currency)).toEqual(['EUR', 'JPY']);
    expect(currencies[0]!.net_total).toEqual({ value: -2.5, currency: 'EUR' });
    expect(currencies[0]!.per_brand).toEqual([{ brand: 'UNKNOWN', count: 1, net_total: { value: -2.5, currency: 'EUR' } }]);
    expect(currencies[1]!.net_total).toEqual({ value: 1000, currency: 'JPY' });
  });

  it('lists requested currencies with zeros on a quiet day', () => {
    const { currencies } = computeDayTotals([], { currencies: ['EUR'] });
    expect(currencies).toEqual([
      {
        currency: 'EUR',
        count: 0,
        net_total: { value: 0, currency: 'EUR' },
        per_type: [
          { type: 'PURCHASE', count: 0, total: { value: 0, currency: 'EUR' } },
          { type: 'REFUND', count: 0, total: { value: 0, currency: 'EUR' } },
          { type: 'PRE_AUTHORIZATION', count: 0, total: { value: 0, currency: 'EUR' } },
        ],
        per_brand: [],
        open_pre_authorizations: { count: 0, total: { value: 0, currency: 'EUR' } },
      },
    ]);
    expect(computeDayTotals([]).currencies).toEqual([]);
  });
});

describe('renderDayTotalsReceipt', () => {
  const opts = { merchant: 'MERCHANT NAME', store: 'Shop', terminal_id: 'SUNMI-P2lite-PL0919CQ00305', date: '2022-01-18' };

  for (const width of [24, 32, 48]) {
    it(`fits ${width} columns`, () => {
      const big = computeDayTotals([...day, tx({ amount_minor: 999_999_999_999_999 - 9875 - 30 - 3000, currency: 'EUR' }), tx({ currency: 'KWD', amount_minor: 1250 })]);
      const text = renderDayTotalsReceipt(big, { ...opts, width });
      for (const l of text.replace(/\n$/, '').split('\n')) expect(l.length).toBe(width);
    });
  }

  it('shows counts, sums and the net', () => {
    const text = renderDayTotalsReceipt(computeDayTotals(day), opts);
    expect(text).toContain('DAY TOTALS');
    expect(text).toContain('DATE          2022-01-18');
    expect(text).toContain('PURCHASES      3 x 99.05');
    expect(text).toContain('REFUNDS        1 x 10.00');
    expect(text).toContain('NET TOTAL         119.05');
    expect(text).toContain('OPEN PRE-AUTHS');
    expect(text).toContain('AUTHORIZED     1 x 50.00');
  });

  it('says so when there is nothing', () => {
    expect(renderDayTotalsReceipt(computeDayTotals([]), opts)).toContain('NO TRANSACTIONS');
  });
});

describe('localDay', () => {
  it('gives the store-local date and its UTC range', () => {
    expect(localDay(new Date('2022-01-18T23:30:00Z'), 'Europe/Amsterdam')).toEqual({
      date: '2022-01-19',
      start: new Date('2022-01-18T23:00:00Z'),
      end: new Date('2022-01-19T23:00:00Z'),
    });
  });
  it('handles 23- and 25-hour days', () => {
    const spring = localDay(new Date('2024-03-31T12:00:00Z'), 'Europe/Amsterdam');
    expect(spring.end.getTime() - spring.start.getTime()).toBe(23 * 3600_000);
    expect(spring.start).toEqual(new Date('2024-03-30T23:00:00Z'));
    const autumn = localDay(new Date('2024-11-03T12:00:00Z'), 'America/New_York');
    expect(autumn.end.getTime() - autumn.start.getTime()).toBe(25 * 3600_000);
    expect(autumn.start).toEqual(new Date('2024-11-03T04:00:00Z'));
  });

  it('starts a day whose midnight is skipped when its clock jumps to 01:00, and a day whose midnight repeats at the first one', () => {
    const cases: Array<[string, string, string, string, number]> = [
      // zone, an instant of the day, its start, its end, hours
      ['America/Santiago', '2026-09-06T12:00:00Z', '2026-09-06T04:00:00Z', '2026-09-07T03:00:00Z', 23],
      ['America/Santiago', '2026-09-05T12:00:00Z', '2026-09-05T04:00:00Z', '2026-09-06T04:00:00Z', 24],
      ['America/Santiago', '2026-04-04T12:00:00Z', '2026-04-04T03:00:00Z', '2026-04-05T04:00:00Z', 25],
      ['America/Havana', '2026-03-08T12:00:00Z', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 23],
      ['America/Havana', '2026-11-01T12:00:00Z', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', 25],
      ['Asia/Beirut', '2026-03-29T12:00:00Z', '2026-03-28T22:00:00Z', '2026-03-29T21:00:00Z', 23],
      ['Asia/Beirut', '2026-10-24T12:00:00Z', '2026-10-23T21:00:00Z', '2026-10-24T22:00:00Z', 25],
    ];
    for (const [zone, at, start, end, hours] of cases) {
      const day = localDay(new Date(at), zone);
      expect({ zone, at, start: day.start.toISOString(), end: day.end.toISOString() }).toEqual({ zone, at, start: new Date(start).toISOString(), end: new Date(end).toISOString() });
      expect(day.end.getTime() - day.start.getTime()).toBe(hours * 3600_000);
    }
  });

  it('agrees with Intl on every day of two years in zones with and without DST, midnight changes included', () => {
    const zones = [
      'America/Santiago', 'America/Havana', 'Asia/Beirut', 'Africa/Cairo', 'America/Asuncion', 'America/Scoresbysund',
      'Asia/Tehran', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kathmandu',
      'Europe/Amsterdam', 'America/New_York', 'Europe/Dublin', 'UTC',
    ];
    const dateIn = (zone: string) => {
      const f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      return (ms: number) => f.format(new Date(ms));
    };
    const failures: string[] = [];
    for (const zone of zones) {
      const dateAt = dateIn(zone);
      for (let ms = Date.parse('2025-01-01T00:00:00Z'); ms < Date.parse('2027-01-01T00:00:00Z'); ms += 7 * 3600_000) {
        const day = localDay(new Date(ms), zone);
        const [start, end] = [day.start.getTime(), day.end.getTime()];
        const ok =
          day.date === dateAt(ms) &&
          start <= ms && ms < end &&
          dateAt(start) === day.date && dateAt(start - 1) < day.date &&
          dateAt(end - 1) === day.date && dateAt(end) > day.date;
        if (!ok) failures.push(`${zone} at ${new Date(ms).toISOString()}: ${day.date} [${day.start.toISOString()}, ${day.end.toISOString()})`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
