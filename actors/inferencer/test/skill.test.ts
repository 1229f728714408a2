import type { PlanForecast } from '@kokex/core';
import { createRng } from '@kokex/kronos-runtime';
import { describe, expect, it } from 'vitest';
import type { Calibration } from '../src/index.js';
import {
  bandValue,
  brier,
  conformalQuantile,
  crpsEnsemble,
  crpsEnsembleFair,
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
  expected80: 0.8,
  expected90: 0.9,
  pUp: 0.8,
  pUpRaw: 0.9,
  pVolExpand: 0.6,
  pVolExpandRaw: 0.7,
  volHistorical: 0.005,
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

  it('the fair ensemble CRPS of paths from the true law averages its closed form; the empirical one is (1 + 1/n)× higher', () => {
    // 20 000 forecasts of 32 paths each from N(0, 1), each scored at an outcome from N(0, 1):
    // scored against its own law in closed form a perfect model averages 1/√π.
    const rng = createRng(11, 0);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const rounds = 20_000;
    const paths = 32;
    let fair = 0;
    let empirical = 0;
    let closed = 0;
    let model = 0;
    let randomWalk = 0;
    for (let r = 0; r < rounds; r++) {
      const sorted = Float64Array.from({ length: paths }, normal).sort();
      const y = normal();
      fair += crpsEnsembleFair(sorted, y);
      empirical += crpsEnsemble(sorted, y);
      closed += crpsNormal(0, 1, y);
      // The same forecast as the skill gate scores it: one step, the random walk's σ = 1 (its law).
      const s = scoreForecast({ ...pending, steps: [1], lastClose: 1, closes: [sorted], median: [0], sigma: 1 }, [Math.exp(y)]);
      model += s.model.crps;
      randomWalk += s.baselines['random-walk'].crps;
    }
    // Standard error of each mean ≈ 0.6 / √20 000 ≈ 0.004 of 0.56; the bias is 0.0176 (3.1 %).
    expect(fair / closed).toBeGreaterThan(0.985);
    expect(fair / closed).toBeLessThan(1.015);
    expect(empirical / fair).toBeCloseTo(1 + 1 / paths, 2);
    // The gate's ratio of a model that is the random walk is 1, not 1 + 1/32 against the model.
    expect(model / randomWalk).toBeGreaterThan(0.985);
    expect(model / randomWalk).toBeLessThan(1.015);
    expect(crpsEnsembleFair([0.3], -0.2)).toBe(crpsEnsemble([0.3], -0.2));
    // By hand: mean|X − y| = 4/3, ½·ΣΣ|x_i − x_j| = 6, over n(n − 1) = 6.
    expect(crpsEnsembleFair([-1, 0, 2], 1)).toBeCloseTo(4 / 3 - 1, 15);
  });

  it('Brier and hit rate of P(up)', () => {
    expect(brier(0.7, 1)).toBeCloseTo(0.09, 15);
    expect([hit(0.7, 1), hit(0.3, 1), hit(0.3, 0), hit(0.5, 1)]).toEqual([1, 0, 1, 0.5]);
  });

  it('scores a forecast and both baselines on a two-step case', () => {
    const s = scoreForecast(pending, [101, 102]); // actual log returns 0.00995, 0.01980
    expect(s.up).toBe(1);
    // Fair CRPS per step: mean|X − y| − (0.02 + 0.03 + 0.01) / (3·2); the empirical estimator, /3², was 0.0033745.
    expect(s.model.crps).toBeCloseTo(0.0033745069751086976 - 0.06 / 6 + 0.06 / 9, 12);
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
    // Returns ln(101/100), ln(102/101): sample std 7.07e-5, below the historical 0.005: no expansion.
    expect(s).toMatchObject({ pVolExpandRaw: 0.7, pVolExpand: 0.6, volExpanded: 0, expected80: 0.8, expected90: 0.9 });
    expect(scoreForecast(pending, [103, 99]).volExpanded).toBe(1); // ln(1.03), ln(99/103): std 0.049
    // Where each step fell: inside the 80% band ('2'), the 90% band only ('1'), outside ('0').
    expect(s.bandSteps).toBe('22');
    expect(scoreForecast(pending, [101.8, 102]).bandSteps).toBe('12'); // ln 1.018 = 0.0178: above 0.015, below 0.02
    expect(scoreForecast(pending, [103, 99]).bandSteps).toBe('00');
    expect(scoreForecast({ ...pending, volHistorical: Number.NaN }, [101, 102]).volExpanded).toBeUndefined();
  });
});

const GATE: PlanForecast['skillGate'] = {
  enabled: true,
  window: 10,
  minScored: 3,
  metric: 'crps',
  baselines: ['persistence', 'random-walk'],
  margin: 0,
  significance: 0.05,
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

  it('is tradeable once the model beats every baseline by the margin, significantly', () => {
    // Model 0.009 ± 0.001 alternating, persistence 0.012, random walk 0.01: every differential is negative.
    const wins = Array.from({ length: 40 }, (_, t) => scored(t, 0.009 + (t % 2 ? 0.001 : -0.001), 0.012, 0.01));
    const r = withScored(emptyRecord(KEY, 50), wins, 50, 5);
    const s = summarize(r, { ...GATE, window: 50 });
    expect(s).toMatchObject({
      tradeable: true,
      model: { crps: expect.closeTo(0.009, 12) },
      baselines: { persistence: { crps: expect.closeTo(0.012, 12) }, 'random-walk': { crps: expect.closeTo(0.01, 12) } },
      test: { method: 'diebold-mariano', lag: 0, effectiveSamples: expect.any(Number), significance: 0.05, margin: 0 },
    });
    expect(s.test?.pValue).toBeLessThan(1e-6);
    expect(s.test?.baselines['random-walk']?.ratio).toBeCloseTo(0.9, 12);
    expect(s.reason).toMatch(
      /^crps 0\.009 beats persistence 0\.012 \(ratio 0\.75, p < 0\.001\) and random-walk 0\.01 \(ratio 0\.9, p < 0\.001\) by 0% at 5% significance over the last 40 forecasts/,
    );
    // A 20% margin asks for 0.008 against the random walk: 0.009 is not enough.
    const strict = summarize(r, { ...GATE, window: 50, margin: 0.2 });
    expect(strict.tradeable).toBe(false);
    expect(strict.reason).toMatch(/^crps 0\.009 does not beat random-walk 0\.01 \(ratio 0\.9, p 1\) by 20% at 5% significance/);
    expect(summarize(r, { ...GATE, window: 50, metric: 'hit-rate' }).tradeable).toBe(false); // 0.5 is not above 0.5
    expect(summarize(emptyRecord(KEY, 10), { ...GATE, enabled: false }).tradeable).toBe(true);
  });

  it('a lower mean is not enough: noise around the baseline stays closed, and the overlap widens the error', () => {
    // Differentials ±0.004 around a mean 0.0005 below the random walk: the mean wins, the test does not.
    const noisy = Array.from({ length: 40 }, (_, t) => scored(t, 0.0095 + (t % 2 ? 0.004 : -0.004), 0.012, 0.01));
    const s = summarize(withScored(emptyRecord(KEY, 50), noisy, 50, 5), { ...GATE, window: 50 });
    expect(s.model.crps as number).toBeLessThan(0.01);
    expect(s.tradeable).toBe(false);
    expect(s.test?.pValue).toBeGreaterThan(0.05);
    expect(s.reason).toMatch(/does not beat random-walk 0\.01 \(ratio 0\.95, p 0\.2\d?\)/);
    // Runs of 6 equal differentials, the sign of each run drawn (seeded): the dependence of 6-step
    // forecasts. With lag 5 the 300 forecasts are worth about their 50 runs.
    const rng = createRng(7, 0);
    const signs = Array.from({ length: 50 }, () => (rng.next() < 0.5 ? -1 : 1));
    const runs = Array.from({ length: 300 }, (_, t) => scored(t, 0.0095 + 0.002 * (signs[Math.floor(t / 6)] as number), 0.012, 0.01));
    const record = withScored(emptyRecord(KEY, 300), runs, 300, 5);
    const gate = { ...GATE, window: 300 };
    const independent = summarize(record, gate, 0);
    const overlapping = summarize(record, gate, 5);
    expect(independent.test?.effectiveSamples).toBeCloseTo(300, 6);
    expect(overlapping.test?.effectiveSamples as number).toBeGreaterThan(30);
    expect(overlapping.test?.effectiveSamples as number).toBeLessThan(80);
    expect(overlapping.test?.pValue as number).toBeGreaterThan(independent.test?.pValue as number);
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
    const few = fitCalibration(entries.slice(0, 3), { probability: 'isotonic', bands: 'conformal', minSamples: 4 }, 2);
    expect([few.probability, few.bands, few.calibrateUp(0.9), few.bandFactor(0.9, 0)]).toEqual(['none', 'none', 0.9, undefined]);
    const fitted = fitCalibration(entries, { probability: 'isotonic', bands: 'conformal', minSamples: 4 }, 2);
    expect([fitted.probability, fitted.bands, fitted.calibrateUp(0.9), fitted.bandFactor(0.9, 1)]).toEqual([
      'isotonic',
      'conformal',
      0.5,
      2,
    ]);
    expect(fitCalibration(entries, { probability: 'platt', bands: 'none', minSamples: 4 }, 2).probability).toBe('platt');
  });

  it('conformal bands rescale the spread around the median in log space, with the factor of their step', () => {
    const sorted = Float64Array.from({ length: 101 }, (_, i) => 90 + i * 0.2); // 90..110, median 100
    const identity: Calibration = {
      probability: 'none',
      bands: 'conformal',
      samples: 1,
      epsilon: 1 / 3,
      calibrateUp: (p) => p,
      calibrateVolExpand: (p) => p,
      bandFactor: () => 1,
    };
    // Type 6: the 95% level sits at rank 0.95·102 = 96.9, i.e. 90 + 95.9·0.2 = 109.18; 5% at rank 5.1 → 90.82.
    expect(bandValue(sorted, 0.95, 100, undefined, 0)).toBeCloseTo(109.18, 10);
    expect(bandValue(sorted, 0.95, 100, identity, 0)).toBeCloseTo(109.18, 10);
    expect(bandValue(sorted, 0.05, 100, identity, 0)).toBeCloseTo(90.82, 10);
    const perStep = { ...identity, bandFactor: (_c: number, step: number) => (step === 0 ? 1 : 2) };
    expect(bandValue(sorted, 0.95, 100, perStep, 0)).toBeCloseTo(109.18, 10);
    expect(bandValue(sorted, 0.95, 100, perStep, 1)).toBeCloseTo(100 * (109.18 / 100) ** 2, 8);
    expect(bandValue(sorted, 0.5, 100, perStep, 1)).toBe(100);
  });
});

/** Scored forecasts of a given horizon with given raw P(up), outcomes and (optionally) volatility outcomes. */
function calibrationCase(rows: Array<{ pUpRaw: number; up: 0 | 1; horizon?: number; pVol?: number; vol?: 0 | 1 }>): ScoredForecast[] {
  return rows.map((r, i) => ({
    ...scored(i, 0.01, 0.02, 0.02),
    pUpRaw: r.pUpRaw,
    up: r.up,
    conformal: new Array(r.horizon ?? 2).fill(1),
    ...(r.vol === undefined ? {} : { pVolExpandRaw: r.pVol ?? 0.5, volExpanded: r.vol }),
  }));
}
const repeat = <T>(n: number, row: T): T[] => Array.from({ length: n }, () => ({ ...row }));

describe('calibration at the edges', () => {
  const ISOTONIC = { probability: 'isotonic' as const, bands: 'none' as const, minSamples: 5 };

  it('isotonic never publishes 0 or 1: outcomes all alike map to 1/(n + 2) and 1 − 1/(n + 2)', () => {
    // 10 forecasts at 0.1 that all fell, 10 at 0.9 that all rose: the fit is 0 and 1 exactly.
    const entries = calibrationCase([...repeat(10, { pUpRaw: 0.1, up: 0 as const }), ...repeat(10, { pUpRaw: 0.9, up: 1 as const })]);
    const c = fitCalibration(entries, ISOTONIC, 2);
    expect(c.epsilon).toBe(1 / 22);
    expect(c.calibrateUp(0.1)).toBe(1 / 22);
    expect(c.calibrateUp(0.02)).toBe(1 / 22); // flat beyond the fitted points, still clamped
    expect(c.calibrateUp(0.9)).toBe(21 / 22);
    expect(c.calibrateUp(1)).toBe(21 / 22);
    expect(c.calibrateUp(0.5)).toBeCloseTo(0.5, 12); // halfway between the fitted 0 and 1
  });

  it('Platt scaling on a separable history is clamped the same way', () => {
    const entries = calibrationCase([...repeat(20, { pUpRaw: 0.2, up: 0 as const }), ...repeat(20, { pUpRaw: 0.8, up: 1 as const })]);
    const c = fitCalibration(entries, { ...ISOTONIC, probability: 'platt' }, 2);
    for (const p of [0, 0.001, 0.2, 0.8, 0.999, 1]) {
      expect(c.calibrateUp(p)).toBeGreaterThanOrEqual(1 / 42);
      expect(c.calibrateUp(p)).toBeLessThanOrEqual(41 / 42);
    }
    expect(c.calibrateUp(0)).toBe(1 / 42);
    expect(c.calibrateUp(1)).toBe(41 / 42);
  });

  it('ε shrinks with the scored forecasts of the fit: 1/(n + 2)', () => {
    for (const n of [5, 8, 98]) {
      const c = fitCalibration(calibrationCase(repeat(n, { pUpRaw: 0.3, up: 1 as const })), ISOTONIC, 2);
      expect([c.samples, c.epsilon, c.calibrateUp(0.3)]).toEqual([n, 1 / (n + 2), 1 - 1 / (n + 2)]);
    }
  });

  it('fits on the forecasts of the same horizon only', () => {
    // Horizon 2: 0.6 rose 3 times in 4; horizon 3 (another plan setting): 0.6 always fell.
    const entries = calibrationCase([
      ...repeat(3, { pUpRaw: 0.6, up: 1 as const }),
      { pUpRaw: 0.6, up: 0 },
      ...repeat(6, { pUpRaw: 0.6, up: 0 as const, horizon: 3 }),
    ]);
    const two = fitCalibration(entries, { ...ISOTONIC, minSamples: 4 }, 2);
    expect([two.samples, two.calibrateUp(0.6)]).toEqual([4, 0.75]);
    const three = fitCalibration(entries, { ...ISOTONIC, minSamples: 4 }, 3);
    expect([three.samples, three.calibrateUp(0.6)]).toEqual([6, 1 / 8]);
    const five = fitCalibration(entries, { ...ISOTONIC, minSamples: 4 }, 5);
    expect([five.samples, five.probability, five.calibrateUp(0.6)]).toEqual([0, 'none', 0.6]);
  });

  it('conformal factors are per step: an early step keeps its own narrower factor', () => {
    // Step 0 fell at 0.5 half-widths, step 1 at 1..9 (a spread that grows with the horizon).
    const entries = Array.from({ length: 9 }, (_, i) => ({ ...scored(i, 0.01, 0.02, 0.02), conformal: [0.5, i + 1] }));
    const c = fitCalibration(entries, { probability: 'none', bands: 'conformal', minSamples: 9 }, 2);
    expect(c.bandFactor(0.8, 0)).toBe(0.5);
    expect(c.bandFactor(0.8, 1)).toBe(8); // ⌈10·0.8⌉ = 8th smallest of 1..9
    expect(c.bandFactor(0.5, 1)).toBe(5);
    // One pooled factor (the old behaviour) would have been the 15th smallest of all 18 scores: 7.
    const pooled = entries.flatMap((e) => e.conformal).sort((a, b) => a - b);
    expect(conformalQuantile(pooled, 0.8)).toBe(7);
  });

  it('P(volatility expands) is calibrated like P(up): stated 0.73, happened 45%', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ pUpRaw: 0.5, up: 1 as const, pVol: 0.73, vol: (i % 20 < 9 ? 1 : 0) as 0 | 1 }));
    const isotonic = fitCalibration(calibrationCase(rows), { ...ISOTONIC, minSamples: 100 }, 2);
    expect(isotonic.calibrateVolExpand(0.73)).toBeCloseTo(0.45, 12);
    const platt = fitCalibration(calibrationCase(rows), { ...ISOTONIC, probability: 'platt', minSamples: 100 }, 2);
    expect(platt.calibrateVolExpand(0.73)).toBeCloseTo(0.45, 2);
    // All expanded: clamped below 1. Records scored before the outcome was kept are left out.
    const always = calibrationCase(repeat(50, { pUpRaw: 0.5, up: 1 as const, pVol: 0.9, vol: 1 as const }));
    const old = calibrationCase(repeat(50, { pUpRaw: 0.5, up: 1 as const }));
    const c = fitCalibration([...always, ...old], { ...ISOTONIC, minSamples: 50 }, 2);
    expect(c.calibrateVolExpand(0.9)).toBe(1 - 1 / 52);
    expect(fitCalibration(old, { ...ISOTONIC, minSamples: 50 }, 2).calibrateVolExpand(0.9)).toBe(0.9);
  });
});

/** Inverse error function by Newton's method (for the large-ensemble check). */
function inverseErf(y: number): number {
  let x = 0;
  for (let i = 0; i < 60; i++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}
