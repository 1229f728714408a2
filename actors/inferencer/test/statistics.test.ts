import { createRng, FEATURE_COUNT } from '@kokex/kronos-runtime';
import { describe, expect, it } from 'vitest';
import {
  expectedBandCoverage,
  expectedMaxAdverse,
  meanPath,
  pathDistributions,
  probabilityUp,
  probabilityVolExpands,
  quantileOfSorted,
} from '../src/index.js';

/** [paths, horizon, 6] from rows of [high, low, close] per path and step. */
function paths(rows: number[][][]): Float64Array {
  const horizon = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * horizon * FEATURE_COUNT);
  rows.forEach((path, p) => {
    path.forEach(([high, low, close], h) => {
      out.set([close as number, high as number, low as number, close as number, 1, 1], (p * horizon + h) * FEATURE_COUNT);
    });
  });
  return out;
}

describe('forecast statistics', () => {
  // last close 100; path A drifts down, path B up
  const values = paths([
    [
      [101, 97, 99],
      [100, 98, 99.5],
    ],
    [
      [102, 100.5, 101],
      [104, 101, 103],
    ],
  ]);

  it('quantiles are Hyndman–Fan type 6: rank q(n + 1), interpolated, held at the extremes', () => {
    // n = 4: rank 1.25 → 1 + 0.25·(2 − 1); the median is still the middle; rank 4.5 > n → the largest.
    expect(quantileOfSorted([1, 2, 3, 4], 0.25)).toBe(1.25);
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileOfSorted([1, 2, 3, 4], 0.9)).toBe(4);
    expect(quantileOfSorted([1, 2, 3, 4], 0.1)).toBe(1);
    expect(quantileOfSorted([5], 0.9)).toBe(5);
    // 9 values 10..90: rank 0.8·10 = 8 → exactly the 8th; 0.85 → rank 8.5, halfway to the 9th.
    const tens = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    expect(quantileOfSorted(tens, 0.8)).toBeCloseTo(80, 12);
    expect(quantileOfSorted(tens, 0.85)).toBeCloseTo(85, 12);
  });

  it('expected band coverage is the nominal one once both ranks fall inside the sample, less with fewer paths', () => {
    expect(expectedBandCoverage(32, 0.8)).toBeCloseTo(0.8, 12);
    expect(expectedBandCoverage(32, 0.9)).toBeCloseTo(0.9, 12);
    expect(expectedBandCoverage(19, 0.9)).toBeCloseTo(0.9, 12); // ranks 1 and 19 exactly
    expect(expectedBandCoverage(8, 0.9)).toBeCloseTo(7 / 9, 12); // ranks held at 1 and 8
    expect(expectedBandCoverage(1, 0.8)).toBe(0);
  });

  it('a type-6 band of few draws holds its coverage for draws of the same distribution (seeded)', () => {
    const rng = createRng(20261202, 0);
    let inside80 = 0;
    let inside7 = 0;
    const trials = 20_000;
    for (let t = 0; t < trials; t++) {
      const draws = Float64Array.from({ length: 32 }, () => rng.next()).sort(); // uniform: F(x) = x
      const next = rng.next();
      if (next >= quantileOfSorted(draws, 0.1) && next <= quantileOfSorted(draws, 0.9)) inside80++;
      // numpy's default (type 7) for comparison: rank 1 + q(n − 1)
      const type7 = (q: number) => {
        const r = q * 31;
        const i = Math.floor(r);
        return (draws[i] as number) + (r - i) * ((draws[Math.min(31, i + 1)] as number) - (draws[i] as number));
      };
      if (next >= type7(0.1) && next <= type7(0.9)) inside7++;
    }
    expect(inside80 / trials).toBeCloseTo(0.8, 1.5); // within ±0.016
    expect(inside7 / trials).toBeCloseTo(24.8 / 33, 1.5); // 75%: the bias the issue measured
  });

  it('sorts each step across paths, and averages paths', () => {
    const d = pathDistributions(values, 2, 2);
    expect(d.close.map((s) => Array.from(s))).toEqual([
      [99, 101],
      [99.5, 103],
    ]);
    expect(Array.from(d.low[0] ?? [])).toEqual([97, 100.5]);
    expect(meanPath(values, 2, 2, 3)).toEqual([100, 101.25]);
  });

  it('P(up) is the share of final closes above the last close', () => {
    expect(probabilityUp(pathDistributions(values, 2, 2), 100)).toBe(0.5);
    expect(probabilityUp(pathDistributions(values, 2, 2), 99)).toBe(1);
  });

  it('expected max adverse move averages the worst low (long) and high (short) against the last close', () => {
    const m = expectedMaxAdverse(values, 2, 2, 100);
    expect(m.long).toBeCloseTo((0.03 + 0) / 2, 12);
    expect(m.short).toBeCloseTo((0.01 + 0.04) / 2, 12);
  });

  it('P(volatility expands) compares each path’s return std with that of the last horizon closes (the demo’s rule)', () => {
    // history: the last 3 closes 102, 100, 102 give returns ±0.0198, sample std 0.028
    const history = [90, 102, 100, 102];
    const calm = [100, 100, 100].map((c) => [c, c, c]);
    const wild = [110, 95, 110].map((c) => [c, c, c]);
    expect(probabilityVolExpands(paths([calm, wild]), 2, 3, 102, history)).toBe(0.5);
    // horizon 1: one return has no sample std, so nothing counts as expanding
    expect(probabilityVolExpands(paths([[[110, 110, 110]]]), 1, 1, 102, history)).toBe(0);
  });
});
