import { describe, expect, it } from 'vitest';
import { candleFeatures, denormalize, normalizeWindow, timeStamps } from '../src/index.js';

describe('preprocessing', () => {
  it('derives amount as volume × mean(OHLC) unless given', () => {
    const f = candleFeatures([
      { ts: 0, open: 1, high: 4, low: 1, close: 2, volume: 10 },
      { ts: 1, open: 1, high: 1, low: 1, close: 1, volume: 3, amount: 7 },
    ]);
    expect(Array.from(f)).toEqual([1, 4, 1, 2, 10, 20, 1, 1, 1, 1, 3, 7]);
  });

  it('z-scores each column with the population std plus eps, clips, and inverts', () => {
    // one column 1, 2, 3, 10: mean 4, population std sqrt(12.5)
    const rows = [1, 2, 3, 10];
    const features = Float64Array.from(rows.flatMap((v) => [v, v, v, v, v, v]));
    const w = normalizeWindow(features, 1e-5, 1.2);
    expect(w.mean[0]).toBe(4);
    expect(w.std[0]).toBeCloseTo(Math.sqrt(12.5), 12);
    expect(w.x[0]).toBeCloseTo(-3 / (Math.sqrt(12.5) + 1e-5), 6);
    expect(w.x[18]).toBeCloseTo(1.2, 6); // (10 - 4) / 3.54 = 1.70, clipped
    const back = denormalize(w.x.subarray(0, 6), w.mean, w.std, 1e-5);
    expect(back[0]).toBeCloseTo(1, 4);
  });

  it('stamps minute, hour, weekday (Monday = 0), day and month in UTC', () => {
    // 2026-01-05 is a Monday; 2026-03-01 23:45 UTC is a Sunday.
    const s = timeStamps([Date.UTC(2026, 0, 5, 7, 30), Date.UTC(2026, 2, 1, 23, 45)]);
    expect(Array.from(s, Number)).toEqual([30, 7, 0, 5, 1, 45, 23, 6, 1, 3]);
  });
});
