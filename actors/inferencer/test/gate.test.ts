import type { PlanForecast } from '@kokex/core';
import { createRng, type Rng } from '@kokex/kronos-runtime';
import { describe, expect, it } from 'vitest';
import {
  dieboldMariano,
  emptyRecord,
  overlapLag,
  type PendingForecast,
  quantileOfSorted,
  type ScoredForecast,
  scoreForecast,
  summarize,
  withScored,
} from '../src/index.js';

/**
 * The gate on simulated markets, seeded: forecasts every bar for 12 bars ahead (so consecutive
 * forecasts overlap by 11 bars), scored by the real scoring code against the real baselines.
 *  - "noise": the market is a random walk and the model is the random-walk baseline plus noise
 *    (32 Monte Carlo paths, shifted by a random amount per forecast). It must stay closed on
 *    every seed.
 *  - "planted skill": the market drifts with a persistent regime the model knows; the model's
 *    paths carry that drift. It must open on (nearly) every seed.
 */
const HORIZON = 12;
const WINDOW = 500;
const PATHS = 32;
const SIGMA = 0.01;
/** Per-bar drift of the planted regime, in σ. */
const DRIFT = 0.6;
/** Probability per bar that the regime flips. */
const FLIP = 0.02;
const GATE: PlanForecast['skillGate'] = {
  enabled: true,
  window: WINDOW,
  minScored: 100,
  metric: 'crps',
  baselines: ['persistence', 'random-walk'],
  margin: 0.02,
  significance: 0.05,
};
const KEY = { model: 'kronos', version: 'sim', inst: 'SIM', tf: '1H' };

function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

interface Market {
  /** Per-bar log returns and the drift each bar had. */
  returns: number[];
  drift: number[];
}

/** A random walk with σ per bar; `drift` > 0 adds a ±drift·σ regime that flips with probability FLIP a bar. */
function market(rng: Rng, bars: number, drift: number): Market {
  let regime = rng.next() < 0.5 ? -1 : 1;
  const returns: number[] = [];
  const drifts: number[] = [];
  for (let t = 0; t < bars; t++) {
    if (rng.next() < FLIP) regime = -regime;
    const mu = drift * SIGMA * regime;
    drifts.push(mu);
    returns.push(mu + SIGMA * normal(rng));
  }
  return { returns, drift: drifts };
}

/** A forecast from paths of cumulative log returns per step, shaped as the inferencer keeps it. */
function pending(asOf: number, paths: number[][]): PendingForecast {
  const closes = Array.from({ length: HORIZON }, (_, h) => Float64Array.from(paths, (p) => p[h] as number).sort());
  const q = (level: number) => closes.map((s) => quantileOfSorted(s, level));
  const pUp = closes[HORIZON - 1]?.filter((v) => v > 0).length ?? 0;
  return {
    asOf,
    steps: Array.from({ length: HORIZON }, (_, h) => asOf + h + 1),
    lastClose: 100,
    closes,
    median: q(0.5),
    low95: q(0.05),
    high95: q(0.95),
    band80: { low: q(0.1), high: q(0.9) },
    band90: { low: q(0.05), high: q(0.95) },
    expected80: 0.8,
    expected90: 0.9,
    pUp: pUp / paths.length,
    pUpRaw: pUp / paths.length,
    pVolExpand: 0.5,
    pVolExpandRaw: 0.5,
    volHistorical: SIGMA,
    sigma: SIGMA,
  };
}

/** Scores WINDOW forecasts made every bar; `drift(t)` is the per-bar drift the model puts in its paths at origin t, `shift` its noise. */
function simulate(seed: number, kind: 'noise' | 'skill', noise = 0.5, paths = PATHS, drift = DRIFT): ScoredForecast[] {
  const rng = createRng(seed, 0);
  const m = market(rng, WINDOW + HORIZON, kind === 'skill' ? drift : 0);
  const scored: ScoredForecast[] = [];
  for (let t = 0; t < WINDOW; t++) {
    const mu = kind === 'skill' ? (m.drift[t] as number) : 0;
    const shift = kind === 'noise' ? noise * SIGMA * normal(rng) : 0;
    const sampled = Array.from({ length: paths }, () => {
      let level = shift;
      return Array.from({ length: HORIZON }, () => {
        level += mu + SIGMA * normal(rng);
        return level;
      });
    });
    // Actual closes of bars t+1..t+H from the market's returns after the origin.
    let logPrice = 0;
    const actual = Array.from({ length: HORIZON }, (_, h) => {
      logPrice += m.returns[t + h] as number;
      return 100 * Math.exp(logPrice);
    });
    scored.push(scoreForecast(pending(t, sampled), actual));
  }
  return scored;
}

const lag = overlapLag(HORIZON, 1);
const judge = (entries: ScoredForecast[]) => summarize(withScored(emptyRecord(KEY, WINDOW), entries, WINDOW, 0), GATE, lag);

describe('the skill gate on noise and on planted skill (seeded)', () => {
  it('the random-walk baseline plus noise stays closed on every one of 40 seeds, however small the noise', () => {
    // Noise of 0.5σ per forecast, and none at all (only the Monte Carlo noise of 32 and of 256 paths).
    const cases = [
      { noise: 0.5, paths: PATHS },
      { noise: 0, paths: PATHS },
      { noise: 0, paths: 256 },
    ];
    for (const c of cases) {
      let naiveOpens = 0;
      const ratios: number[] = [];
      for (let seed = 1; seed <= 40; seed++) {
        const summary = judge(simulate(seed, 'noise', c.noise, c.paths));
        expect(summary.tradeable, `seed ${seed}: ${summary.reason}`).toBe(false);
        expect(summary.test?.lag).toBe(11);
        expect(summary.reason).toMatch(/does not beat .*random-walk/);
        // The old gate: a lower mean than every baseline, no margin, no test.
        const s = summary.model.crps as number;
        const rw = summary.baselines['random-walk']?.crps as number;
        ratios.push(s / rw);
        if (s < (summary.baselines.persistence?.crps as number) && s < rw) naiveOpens++;
      }
      // Without noise and with many paths the model is the baseline itself: the old gate opened on some seeds.
      if (c.paths === 256) expect(naiveOpens).toBeGreaterThan(0);
      console.log(
        `noise ${c.noise}σ, ${c.paths} paths: the old gate would have opened on ${naiveOpens} of 40 seeds; CRPS ratio to the random walk ${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)}`,
      );
    }
  });

  it('the test holds its size: zero-mean MA(11) differentials reject at about 5%, independent treatment far more often', () => {
    const rng = createRng(99, 0);
    let rejections = 0;
    let naive = 0;
    const trials = 400;
    for (let trial = 0; trial < trials; trial++) {
      const e = Array.from({ length: WINDOW + lag }, () => normal(rng));
      const d = Array.from({ length: WINDOW }, (_, t) => e.slice(t, t + lag + 1).reduce((a, v) => a + v, 0));
      if (dieboldMariano(d, lag).pValue < 0.05) rejections++;
      if (dieboldMariano(d, 0).pValue < 0.05) naive++;
    }
    console.log(`size at 5%: ${rejections / trials} with lag ${lag}, ${naive / trials} treating forecasts as independent`);
    expect(rejections / trials).toBeLessThanOrEqual(0.09);
    expect(naive / trials).toBeGreaterThan(0.15);
  });

  it('a model with planted skill opens on nearly every seed, with the p-value and effective sample size stated', () => {
    let opens = 0;
    const seeds = 20;
    for (let seed = 1; seed <= seeds; seed++) {
      const summary = judge(simulate(seed, 'skill'));
      if (summary.tradeable) {
        opens++;
        expect(summary.test?.pValue as number).toBeLessThan(0.05);
        expect(summary.test?.effectiveSamples as number).toBeLessThan(WINDOW);
        expect(summary.reason).toMatch(
          new RegExp(`beats persistence .* and random-walk .* by 2% at 5% significance over the last ${WINDOW} forecasts, worth`),
        );
      }
    }
    console.log(`planted skill: opened on ${opens} of ${seeds} seeds`);
    expect(opens).toBeGreaterThanOrEqual(seeds - 1);
  });
});
