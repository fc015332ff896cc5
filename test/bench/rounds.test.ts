import { describe, expect, it } from 'vitest';
import { medianInterval, rotatingRounds } from '../../bench/rounds.js';

describe('bench rounds', () => {
  it('rotates the order of the sides from one set to the next', async () => {
    const order: string[] = [];
    const sets = await rotatingRounds(4, ['off', 'on', 'control'] as const, async (side) => void order.push(`enter ${side}`), async (side) => side.length);
    expect(order).toEqual(
      ['off', 'on', 'control', 'on', 'control', 'off', 'control', 'off', 'on', 'off', 'on', 'control'].map((side) => `enter ${side}`),
    );
    expect(sets).toHaveLength(4);
    expect(sets[1]).toEqual({ off: 3, on: 2, control: 7 });
  });

  it('gives the distribution-free interval of the median from the order statistics', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => 16 - i);
    // P(Binomial(16, 1/2) <= 3) = 697 / 65536: the 4th and 13th values, 97.87%.
    expect(medianInterval(sixteen)).toEqual({ low: 4, high: 13, confidence: 1 - (2 * 697) / 65536 });
    // Eight values: the 2nd and 7th would give 92.97%, under 95%; the widest gives 99.22%.
    expect(medianInterval([8, 1, 7, 2, 6, 3, 5, 4])).toEqual({ low: 1, high: 8, confidence: 1 - 2 / 256 });
    // Too few for 95%: the widest there is, and what it is worth.
    expect(medianInterval([5, 4, 3, 2, 1])).toEqual({ low: 1, high: 5, confidence: 1 - 2 / 32 });
    expect(medianInterval(sixteen, 0.9).confidence).toBeCloseTo(1 - (2 * 2517) / 65536, 12);
  });
});
