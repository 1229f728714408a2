import type { PlanForecast } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import {
  bandValue,
  brier,
  conformalQuantile,
  crpsEnsemble,
  crpsNormal,
  emptyRecord,
  erf,
  fitCalibration,
  fitIsotonic,
  fitPlatt,
  hit,
  type PendingForecast,
  type ScoredForecast,
  scoreForecast,
  summarize,
  withScored,
} from '../src/index.js';

/** Scores, baselines, the gate and calibration against small cases worked out by hand (numbers from numpy). */
const pending: PendingForecast = {
  asOf: 0,
  steps: [1, 2],
  lastClose: 100,
  closes: [Float64Array.from([-0.01, 0.01, 0.02]), Float64Array.from([0, 0.02, 0.03])],
  median: [0.01, 0.02],
  low95: [-0.01, 0],
  high95: [0.02, 0.03],
  band80: { low: [0, 0.01], high: [0.015, 0.025] },
  band90: { low: [-0.005, 0.005], high: [0.02, 0.03] },
  pUp: 0.8,
  pUpRaw: 0.9,
  sigma: 0.01,
};

describe('scores', () => {
  it('CRPS of an ensemble is mean|X − y| − ½ mean|X − X′|', () => {
    expect(crpsEnsemble([0.3], -0.2)).toBeCloseTo(0.5, 15);
    expect(crpsEnsemble([-1, 1], 0)).toBeCloseTo(0.5, 15);
    expect(crpsEnsemble([-1, 0, 2], 1)).toBeCloseTo((2 + 1 + 1) / 3 - (0 + 1 + 3 + 1 + 0 + 2 + 3 + 2 + 0) / 18, 15);
  });

  it('CRPS of a normal has its closed form, and a large ensemble of that normal agrees', () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 7);
    expect(crpsNormal(0, 1, 0)).toBeCloseTo(0.23369497725510913, 7);
    expect(crpsNormal(0, 0, 0.3)).toBe(0.3);
    const n = 4001;
    const samples = Array.from({ length: n }, (_, i) => Math.SQRT2 * inverseErf((2 * (i + 0.5)) / n - 1));
    expect(crpsEnsemble(samples, 0.7)).toBeCloseTo(crpsNormal(0, 1, 0.7), 3);
  });

  it('Brier and hit rate of P(up)', () => {
    expect(brier(0.7, 1)).toBeCloseTo(0.09, 15);
    expect([hit(0.7, 1), hit(0.3, 1), hit(0.3, 0), hit(0.5, 1)]).toEqual([1, 0, 1, 0.5]);
  });

  it('scores a forecast and both baselines on a two-step case', () => {
    const s = scoreForecast(pending, [101, 102]); // actual log returns 0.00995, 0.01980
    expect(s.up).toBe(1);
    expect(s.model.crps).toBeCloseTo(0.0033745069751086976, 10);
    expect(s.model.mae).toBeCloseTo(0.00012352092532608942, 10);
    expect(s.model.brier).toBeCloseTo(0.04, 12);
    expect(s.model.hit).toBe(1);
    expect([s.cover80, s.cover90]).toEqual([1, 1]);
    expect(s.baselines.persistence).toEqual({
      crps: s.baselines.persistence.mae,
      mae: expect.closeTo(0.014876479074673911, 10),
      brier: 0.25,
      hit: 0.5,
    });
    expect(s.baselines['random-walk'].crps).toBeCloseTo(0.009425445397856717, 6);
    expect([s.baselines['random-walk'].cover80, s.baselines['random-walk'].cover90]).toEqual([0.5, 1]);
    expect(s.conformal[0]).toBeCloseTo(0.0024834573415954096, 10);
    expect(s.conformal[1]).toBeCloseTo(0.009868635191013532, 10);
  });
});

const GATE: PlanForecast['skillGate'] = {
  enabled: true,
  window: 10,
  minScored: 3,
  metric: 'crps',
  baselines: ['persistence', 'random-walk'],
  margin: 0,
};
const KEY = { model: 'kronos', version: 'v1', inst: 'BTC-USDT-SWAP', tf: '1H' };

function scored(asOf: number, model: number, persistence: number, randomWalk: number): ScoredForecast {
  const m = (crps: number) => ({ crps, mae: crps, brier: 0.25, hit: 0.5 });
  return {
    asOf,
    pUpRaw: 0.5,
    pUp: 0.5,
    up: 1,
    model: m(model),
    cover80: 0.8,
    cover90: 0.9,
    baselines: { persistence: m(persistence), 'random-walk': m(randomWalk) },
    conformal: [1],
  };
}

describe('skill record and gate', () => {
  it('is not tradeable until minScored forecasts are scored', () => {
    const r = withScored(emptyRecord(KEY, 10), [scored(1, 0.01, 0.02, 0.02), scored(2, 0.01, 0.02, 0.02)], 10, 5);
    const s = summarize(r, GATE);
    expect(s).toMatchObject({ scored: 2, window: 10, tradeable: false, coverage80: 0.8, coverage90: 0.9 });
    expect(s.reason).toBe('2 of 3 forecasts scored; not tradeable until the model beats persistence and random-walk on crps over them');
  });

  it('is tradeable once the model beats every baseline on the metric, by the margin', () => {
    const r = withScored(
      emptyRecord(KEY, 10),
      [1, 2, 3].map((t) => scored(t, 0.009, 0.012, 0.01)),
      10,
      5,
    );
    expect(summarize(r, GATE)).toMatchObject({
      tradeable: true,
      model: { crps: 0.009 },
      baselines: { persistence: { crps: expect.closeTo(0.012, 12) }, 'random-walk': { crps: 0.01 } },
    });
    const strict = summarize(r, { ...GATE, margin: 0.2 });
    expect(strict.tradeable).toBe(false);
    expect(strict.reason).toBe('crps 0.009 does not beat random-walk 0.01 by 20% over the last 3 forecasts');
    expect(summarize(r, { ...GATE, metric: 'hit-rate' }).tradeable).toBe(false); // 0.5 is not above 0.5
    expect(summarize(emptyRecord(KEY, 10), { ...GATE, enabled: false }).tradeable).toBe(true);
  });

  it('keeps one entry per forecast and only the last window', () => {
    let r = emptyRecord(KEY, 3);
    r = withScored(
      r,
      [1, 2, 3, 4].map((t) => scored(t, 0.01, 0.02, 0.02)),
      3,
      1,
    );
    r = withScored(r, [scored(4, 0.5, 0.02, 0.02)], 3, 2);
    expect(r.entries.map((e) => [e.asOf, e.model.crps])).toEqual([
      [2, 0.01],
      [3, 0.01],
      [4, 0.5],
    ]);
  });
});

describe('calibration', () => {
  it('isotonic regression pools adjacent violators and interpolates between fitted points', () => {
    const f = fitIsotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1]);
    expect([0.05, 0.1, 0.2, 0.25, 0.35, 0.9].map(f)).toEqual([0, 0, 0.5, 0.5, expect.closeTo(0.75, 12), 1]);
    expect(fitIsotonic([0.3, 0.3, 0.1], [1, 0, 0])(0.3)).toBe(0.5);
  });

  it('Platt scaling pulls an overconfident P(up) to the observed frequency', () => {
    const xs = new Array(100).fill(0.9);
    const ys = xs.map((_, i) => (i % 5 < 3 ? 1 : 0)); // 60% up
    expect(fitPlatt(xs, ys).apply(0.9)).toBeCloseTo(0.6, 1);
    const calibrated = Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.8 : 0.2));
    const outcomes = calibrated.map((p, i) => ((i * 7) % 10 < p * 10 ? 1 : 0));
    const platt = fitPlatt(calibrated, outcomes);
    expect(platt.apply(0.8)).toBeCloseTo(0.8, 1);
    expect(platt.a).toBeGreaterThan(0);
  });

  it('the conformal quantile is the ⌈(n+1)γ⌉-th smallest score', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(conformalQuantile(s, 0.8)).toBe(8);
    expect(conformalQuantile(s, 0.5)).toBe(5);
    expect(conformalQuantile(s, 0.95)).toBe(9);
  });

  it('applies nothing below minSamples, and the plan’s methods above', () => {
    const entries = Array.from({ length: 4 }, (_, i) => ({
      ...scored(i, 0.01, 0.02, 0.02),
      pUpRaw: 0.9,
      up: (i % 2) as 0 | 1,
      conformal: [2, 2],
    }));
    const few = fitCalibration(entries.slice(0, 3), { probability: 'isotonic', bands: 'conformal', minSamples: 4 });
    expect([few.probability, few.bands, few.calibrateUp(0.9), few.bandFactor(0.9)]).toEqual(['none', 'none', 0.9, undefined]);
    const fitted = fitCalibration(entries, { probability: 'isotonic', bands: 'conformal', minSamples: 4 });
    expect([fitted.probability, fitted.bands, fitted.calibrateUp(0.9), fitted.bandFactor(0.9)]).toEqual(['isotonic', 'conformal', 0.5, 2]);
    expect(fitCalibration(entries, { probability: 'platt', bands: 'none', minSamples: 4 }).probability).toBe('platt');
  });

  it('conformal bands rescale the spread around the median in log space', () => {
    const sorted = Float64Array.from({ length: 101 }, (_, i) => 90 + i * 0.2); // 90..110, median 100
    const identity = {
      probability: 'none' as const,
      bands: 'conformal' as const,
      samples: 1,
      calibrateUp: (p: number) => p,
      bandFactor: () => 1,
    };
    expect(bandValue(sorted, 0.95, 100, identity)).toBeCloseTo(bandValue(sorted, 0.95, 100, undefined), 10);
    expect(bandValue(sorted, 0.05, 100, identity)).toBeCloseTo(91, 10);
    const doubled = { ...identity, bandFactor: () => 2 };
    expect(bandValue(sorted, 0.95, 100, doubled)).toBeCloseTo(100 * (109 / 100) ** 2, 8);
    expect(bandValue(sorted, 0.5, 100, doubled)).toBe(100);
  });
});

/** Inverse error function by Newton's method (for the large-ensemble check). */
function inverseErf(y: number): number {
  let x = 0;
  for (let i = 0; i < 60; i++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}
