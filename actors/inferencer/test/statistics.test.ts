import { FEATURE_COUNT } from '@kokex/kronos-runtime';
import { describe, expect, it } from 'vitest';
import { expectedMaxAdverse, meanPath, pathDistributions, probabilityUp, probabilityVolExpands, quantileOfSorted } from '../src/index.js';

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

  it('quantiles interpolate linearly between order statistics (numpy default)', () => {
    expect(quantileOfSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileOfSorted([5], 0.9)).toBe(5);
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
