import type { BandCalibration, PlanForecast, ProbabilityCalibration } from '@kokex/core';
import { logRatio, quantileOfSorted } from '../statistics.js';
import type { ScoredForecast } from './scores.js';

/**
 * Calibration fitted on the scored history of the serving model version (only forecasts whose
 * outcome is known, so it never sees the future):
 *  - P(up) and P(volatility expands): isotonic regression (pool-adjacent-violators, linear between
 *    fitted points, as scikit-learn predicts) or Platt scaling (a logistic fit on logit(p), with
 *    Platt's smoothed targets), mapping the raw share of paths to the observed frequency. Both are
 *    statements about the final horizon step, so each is fitted per horizon: only on scored
 *    forecasts of the same horizon as the one being calibrated. A calibrated probability stays in
 *    [ε, 1 − ε] with ε = 1/(n + 2), n the scored forecasts of the fit (Laplace's rule of succession:
 *    after n outcomes all alike, the next differs with probability 1/(n + 2)), so a fit on a
 *    finite history never publishes certainty;
 *  - bands: split-conformal rescaling of the spread, per horizon step. Each scored step gives a
 *    score s = how far the actual close fell from the median, in units of the raw 5–95% half-width
 *    on its side; at step h a central band of coverage γ becomes median ± Q_{γ,h} × half-width,
 *    with Q_{γ,h} the ⌈(n+1)γ⌉-th smallest score of step h. High and low bands are rescaled with the
 *    factors the closes give.
 * Below `minSamples` scored forecasts (of the horizon) nothing is applied.
 */
export interface Calibration {
  probability: ProbabilityCalibration;
  bands: BandCalibration;
  /** Scored forecasts the fit used (those of the calibrated horizon). */
  samples: number;
  /** Calibrated probabilities stay in [epsilon, 1 − epsilon]: 1/(samples + 2). */
  epsilon: number;
  calibrateUp(pUpRaw: number): number;
  calibrateVolExpand(pVolExpandRaw: number): number;
  /** Band factor Q_{γ,h} for a central coverage γ at horizon step `step` (0-based), or undefined when bands are not calibrated. */
  bandFactor(coverage: number, step: number): number | undefined;
}

const clamp = (p: number, epsilon: number) => Math.min(1 - epsilon, Math.max(epsilon, p));

/** Isotonic (non-decreasing) fit of ys on xs; returns the calibrated mapping. */
export function fitIsotonic(xs: readonly number[], ys: readonly number[]): (x: number) => number {
  const order = xs.map((_, i) => i).sort((a, b) => (xs[a] as number) - (xs[b] as number));
  // Equal xs first become one point (their mean y, weighted by count).
  const points: Array<{ x: number; y: number; w: number }> = [];
  for (const i of order) {
    const last = points[points.length - 1];
    if (last && last.x === xs[i]) {
      last.y = (last.y * last.w + (ys[i] as number)) / (last.w + 1);
      last.w++;
    } else points.push({ x: xs[i] as number, y: ys[i] as number, w: 1 });
  }
  // Pool adjacent violators into blocks of equal value.
  const blocks: Array<{ y: number; w: number; from: number; to: number }> = [];
  points.forEach((p, i) => {
    blocks.push({ y: p.y, w: p.w, from: i, to: i });
    for (;;) {
      const b = blocks[blocks.length - 1] as (typeof blocks)[number];
      const a = blocks[blocks.length - 2];
      if (!a || a.y <= b.y) break;
      blocks.splice(-2, 2, { y: (a.y * a.w + b.y * b.w) / (a.w + b.w), w: a.w + b.w, from: a.from, to: b.to });
    }
  });
  const fitted = new Array<number>(points.length);
  for (const b of blocks) for (let i = b.from; i <= b.to; i++) fitted[i] = b.y;
  const px = points.map((p) => p.x);
  return (x: number) => {
    if (px.length === 0) return x;
    if (x <= (px[0] as number)) return fitted[0] as number;
    if (x >= (px[px.length - 1] as number)) return fitted[fitted.length - 1] as number;
    let hi = 1;
    while ((px[hi] as number) < x) hi++;
    const lo = hi - 1;
    const t = (x - (px[lo] as number)) / ((px[hi] as number) - (px[lo] as number));
    return (fitted[lo] as number) + t * ((fitted[hi] as number) - (fitted[lo] as number));
  };
}

const logit = (p: number) => {
  const q = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(q / (1 - q));
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Platt scaling: p ↦ σ(a·logit(p) + b), fitted by Newton's method on the log loss with Platt's targets. */
export function fitPlatt(xs: readonly number[], ys: readonly number[]): { a: number; b: number; apply(p: number): number } {
  const positives = ys.filter((y) => y > 0.5).length;
  const negatives = ys.length - positives;
  const targetUp = (positives + 1) / (positives + 2);
  const targetDown = 1 / (negatives + 2);
  const f = xs.map(logit);
  const t = ys.map((y) => (y > 0.5 ? targetUp : targetDown));
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    // Gradient and Hessian of the mean log loss, with a tiny ridge so a separable set still converges.
    let ga = 1e-6 * a;
    let gb = 0;
    let haa = 1e-6;
    let hab = 0;
    let hbb = 1e-9;
    f.forEach((fi, i) => {
      const p = sigmoid(a * fi + b);
      const r = p - (t[i] as number);
      const w = p * (1 - p);
      ga += r * fi;
      gb += r;
      haa += w * fi * fi;
      hab += w * fi;
      hbb += w;
    });
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-18)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b, apply: (p: number) => sigmoid(a * logit(p) + b) };
}

/** The ⌈(n+1)γ⌉-th smallest score (the largest when that rank passes n). */
export function conformalQuantile(sortedScores: ArrayLike<number>, coverage: number): number {
  const n = sortedScores.length;
  const rank = Math.min(n, Math.max(1, Math.ceil((n + 1) * coverage)));
  return sortedScores[rank - 1] as number;
}

/** Horizon of a scored forecast: it has one conformal score per step. */
const horizonOf = (e: ScoredForecast) => e.conformal.length;

function fitProbability(method: ProbabilityCalibration, xs: readonly number[], ys: readonly number[]): (p: number) => number {
  return method === 'isotonic' ? fitIsotonic(xs, ys) : fitPlatt(xs, ys).apply;
}

/**
 * Fits the plan's calibration on scored forecasts of the given horizon (the others are left out:
 * their probabilities and steps speak of other distances). Forecasts scored before P(volatility
 * expands) had an outcome are left out of that fit only.
 */
export function fitCalibration(entries: readonly ScoredForecast[], settings: PlanForecast['calibration'], horizon: number): Calibration {
  const same = entries.filter((e) => horizonOf(e) === horizon);
  const samples = same.length;
  const epsilon = 1 / (samples + 2);
  const enough = samples >= settings.minSamples;
  const identity = (p: number) => p;
  let calibrateUp = identity;
  let calibrateVolExpand = identity;
  let probability: ProbabilityCalibration = 'none';
  if (enough && settings.probability !== 'none') {
    probability = settings.probability;
    const up = fitProbability(
      probability,
      same.map((e) => e.pUpRaw),
      same.map((e) => e.up),
    );
    calibrateUp = (p) => clamp(up(p), epsilon);
    const withVol = same.filter((e) => e.volExpanded !== undefined && e.pVolExpandRaw !== undefined);
    if (withVol.length >= settings.minSamples) {
      const volEpsilon = 1 / (withVol.length + 2);
      const vol = fitProbability(
        probability,
        withVol.map((e) => e.pVolExpandRaw as number),
        withVol.map((e) => e.volExpanded as number),
      );
      calibrateVolExpand = (p) => clamp(vol(p), volEpsilon);
    }
  }
  let bandFactor = (_coverage: number, _step: number): number | undefined => undefined;
  let bands: BandCalibration = 'none';
  if (enough && settings.bands === 'conformal') {
    const perStep = Array.from({ length: horizon }, (_, h) => Float64Array.from(same, (e) => e.conformal[h] as number).sort());
    bands = 'conformal';
    bandFactor = (coverage, step) => {
      const scores = perStep[Math.min(Math.max(0, step), horizon - 1)];
      return scores ? conformalQuantile(scores, coverage) : undefined;
    };
  }
  return { probability, bands, samples, epsilon, calibrateUp, calibrateVolExpand, bandFactor };
}

/**
 * The value at quantile `level` of one step's sorted paths, raw or conformally rescaled around the
 * median in log-return space with the factor of that step (0-based).
 */
export function bandValue(
  sorted: ArrayLike<number>,
  level: number,
  lastClose: number,
  calibration: Calibration | undefined,
  step: number,
): number {
  const raw = quantileOfSorted(sorted, level);
  if (level === 0.5) return raw;
  const factor = calibration?.bandFactor(Math.abs(2 * level - 1), step);
  if (factor === undefined) return raw;
  const median = logRatio(quantileOfSorted(sorted, 0.5), lastClose);
  const edge = logRatio(quantileOfSorted(sorted, level > 0.5 ? 0.95 : 0.05), lastClose);
  return lastClose * Math.exp(median + factor * (edge - median));
}
