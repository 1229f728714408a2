import { normalCdf } from './scores.js';

/**
 * The Diebold–Mariano test of equal predictive accuracy, for overlapping forecasts.
 *
 * Forecasts are made every `every` bars for `horizon` bars ahead, so the losses of forecasts less
 * than `horizon` bars apart share outcomes and are correlated: a window of 500 one-bar-apart
 * forecasts at horizon 24 holds about 21 independent days, not 500. The test therefore takes the
 * mean loss differential d̄ over the window and divides it by a heteroskedasticity and
 * autocorrelation consistent (HAC) standard error over `lag` = ⌈horizon / every⌉ − 1 lags (the
 * forecasts that overlap):
 *
 *   V = γ₀ + 2 Σ_{k=1..lag} w_k γ_k,   DM = d̄ / √(V / n),
 *
 * with Diebold and Mariano's uniform weights w_k = 1, which is the exact long-run variance of the
 * MA(h − 1) dependence that h-step forecasts have; when that estimate is not positive (it can be
 * in small samples) the Newey–West Bartlett weights w_k = 1 − k/(lag + 1), always non-negative,
 * are used instead. (Bartlett weights alone shrink the lag-(h − 1) term to 1/h and understate the
 * error: on runs of 6 equal losses, 8 independent runs in 48, they count 20 independent forecasts.)
 * The Harvey–Leybourne–Newbold small-sample factor √((n + 1 − 2h + h(h − 1)/n) / n), h = lag + 1,
 * scales the statistic, and the one-sided p-value is the standard normal's (n ≥ the gate's
 * minScored, so Student's t is close to it). The effective sample size is n·γ₀/V: the number of
 * independent forecasts that would give the same standard error (at most n).
 */
export interface DieboldMariano {
  /** Mean of the loss differentials (negative: the model is better). */
  meanDifference: number;
  /** HAC standard error of that mean. */
  standardError: number;
  statistic: number;
  /** One-sided: the probability of a mean differential this low if the model were not better. */
  pValue: number;
  lag: number;
  /** Forecasts scored, and the independent forecasts they are worth. */
  samples: number;
  effectiveSamples: number;
}

/** Autocovariance at lag k of a series with mean m (divided by n, as Newey–West do). */
function autocovariance(d: readonly number[], m: number, k: number): number {
  let sum = 0;
  for (let i = k; i < d.length; i++) sum += ((d[i] as number) - m) * ((d[i - k] as number) - m);
  return sum / d.length;
}

/** HAC long-run variance of a series over `lag` lags, uniform weights (Diebold–Mariano), Bartlett (Newey–West) when that is not positive. */
export function longRunVariance(d: readonly number[], lag: number): number {
  const n = d.length;
  const m = d.reduce((s, v) => s + v, 0) / n;
  const gammas = Array.from({ length: Math.min(lag, n - 1) + 1 }, (_, k) => autocovariance(d, m, k));
  const uniform = (gammas[0] as number) + 2 * gammas.slice(1).reduce((s, g) => s + g, 0);
  if (uniform > 0 || lag === 0) return Math.max(uniform, 0);
  return Math.max(0, (gammas[0] as number) + 2 * gammas.slice(1).reduce((s, g, i) => s + (1 - (i + 1) / (lag + 1)) * g, 0));
}

/** Lags of overlap between forecasts made every `every` bars for `horizon` bars: ⌈horizon / every⌉ − 1. */
export function overlapLag(horizon: number, every: number): number {
  return Math.max(0, Math.ceil(horizon / Math.max(1, every)) - 1);
}

/**
 * Tests whether the differentials `d` (model loss minus the baseline's, in time order) have a
 * negative mean; see the module comment.
 */
export function dieboldMariano(d: readonly number[], lag: number): DieboldMariano {
  const n = d.length;
  const meanDifference = d.reduce((s, v) => s + v, 0) / n;
  const gamma0 = longRunVariance(d, 0);
  const variance = longRunVariance(d, lag);
  const standardError = Math.sqrt(variance / n);
  const h = lag + 1;
  const hln = Math.sqrt(Math.max(0, n + 1 - 2 * h + (h * (h - 1)) / n) / n);
  let statistic: number;
  if (standardError > 0) statistic = (meanDifference / standardError) * hln;
  else statistic = meanDifference < 0 ? Number.NEGATIVE_INFINITY : meanDifference > 0 ? Number.POSITIVE_INFINITY : 0;
  const pValue = statistic === 0 && standardError === 0 ? 1 : normalCdf(statistic);
  const effectiveSamples = variance > 0 ? Math.min(n, (n * gamma0) / variance) : n;
  return { meanDifference, standardError, statistic, pValue, lag, samples: n, effectiveSamples };
}
