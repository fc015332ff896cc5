/** Rounds side by side on a shared, noisy machine: each side's rounds interleaved with the others',
 * and the median of their ratios with an interval that says how far it can be trusted. */
import { median } from './lib.js';

/** `sets` sets of rounds, one of each side, the order rotated from one set to the next (with two
 * sides: off/on, then on/off): a load that drifts during a set favours no side. `enter` switches to
 * a side before its round. */
export async function rotatingRounds<S extends string, R>(sets: number, sides: readonly S[], enter: (side: S) => Promise<void>, round: (side: S) => Promise<R>) {
  const done: Array<Record<S, R>> = [];
  for (let set = 0; set < sets; set++) {
    const measured: Partial<Record<S, R>> = {};
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(set + i) % sides.length]!;
      await enter(side);
      measured[side] = await round(side);
    }
    done.push(measured as Record<S, R>);
  }
  return done;
}

/** An interval that holds the true median of what `values` were drawn from with at least `level`
 * confidence (or the widest there is, when there are too few), from the order statistics alone:
 * no assumption about how the values are spread, only that each set's is independent of the
 * others'. Below the median of the values are as many as above it with probability one half each,
 * so the count below the true median is Binomial(n, 1/2). */
export function medianInterval(values: number[], level = 0.95): { low: number; high: number; confidence: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  // P(Binomial(n, 1/2) ≤ j), for j from 0 up, until the next step would fall below `level`.
  let pmf = 0.5 ** n;
  let cdf = pmf;
  let k = 1;
  while (k < n - k + 1) {
    pmf = (pmf * (n - k + 1)) / k;
    if (1 - 2 * (cdf + pmf) < level) break;
    cdf += pmf;
    k++;
  }
  return { low: sorted[k - 1] ?? NaN, high: sorted[n - k] ?? NaN, confidence: 1 - 2 * cdf };
}

/** A ratio as a percentage, with `digits` decimals. */
export const percent = (ratio: number, digits = 0) => `${(ratio * 100).toFixed(digits)}%`;

/** The median of `ratios` and its interval, in words, for a report's row. */
export function medianInWords(ratios: number[], digits = 0): string {
  const { low, high, confidence } = medianInterval(ratios);
  return `median ${percent(median(ratios), digits)} (${percent(confidence, 1)} interval of the median ${percent(low, digits)}–${percent(high, digits)})`;
}
