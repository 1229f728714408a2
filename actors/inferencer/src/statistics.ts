import { FEATURE_COUNT, Feature } from '@kokex/kronos-runtime';

/**
 * What a forecast says, computed from its sample paths ([paths, horizon, 6] de-normalized OHLCV):
 * per-step distributions, mean and median paths, P(final close > last close), P(volatility
 * expands) as the Kronos demo defines it, and the expected worst move against a long and a short.
 */
export interface PathDistributions {
  paths: number;
  horizon: number;
  /** Per step, the paths' values sorted ascending. */
  close: Float64Array[];
  high: Float64Array[];
  low: Float64Array[];
}

export function pathDistributions(values: Float64Array, paths: number, horizon: number): PathDistributions {
  const field = (feature: number) =>
    Array.from({ length: horizon }, (_, h) => {
      const column = new Float64Array(paths);
      for (let p = 0; p < paths; p++) column[p] = values[(p * horizon + h) * FEATURE_COUNT + feature] as number;
      return column.sort();
    });
  return { paths, horizon, close: field(Feature.close), high: field(Feature.high), low: field(Feature.low) };
}

/**
 * Quantile of sorted samples: Hyndman and Fan's type 6 (Weibull plotting positions, R's
 * `quantile(type = 6)`, numpy's `method="weibull"`). The level q sits at 1-based rank q·(n + 1),
 * linearly interpolated between order statistics and held at the smallest and largest sample
 * beyond them. For samples of the true distribution E[F(X₍ₖ₎)] = k/(n + 1), so the central band
 * between levels (1 − γ)/2 and (1 + γ)/2 holds a new draw with probability γ whatever n (as long
 * as both ranks fall inside 1..n; see `expectedBandCoverage`). numpy's default (type 7, rank
 * 1 + q·(n − 1)) pulls the band in: its 10–90% band of 32 draws holds 75% (measured in
 * docs/forecasting.md).
 */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, q * (n + 1))); // 1-based
  const below = Math.floor(rank);
  const above = Math.min(n, below + 1);
  const fraction = rank - below;
  return (sorted[below - 1] as number) + fraction * ((sorted[above - 1] as number) - (sorted[below - 1] as number));
}

/**
 * Expected share of new draws of the sampled distribution inside the central band of coverage γ
 * built from n samples with `quantileOfSorted`: (r_hi − r_lo)/(n + 1) with the ranks r = q·(n + 1)
 * held inside 1..n. Equal to γ when (n + 1)(1 − γ)/2 ≥ 1 (n ≥ 19 for 90%, 9 for 80%), less below:
 * with 8 paths a 90% band can hold at most 7/9.
 */
export function expectedBandCoverage(paths: number, coverage: number): number {
  const clampRank = (q: number) => Math.min(paths, Math.max(1, q * (paths + 1)));
  return (clampRank((1 + coverage) / 2) - clampRank((1 - coverage) / 2)) / (paths + 1);
}

export const mean = (values: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
};

/** Sample standard deviation (n − 1 in the denominator, as pandas' `.std()`); NaN below two values. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** ln(value / reference), with the value floored just above 0 (a decoded path can dip below it in a crash). */
export function logRatio(value: number, reference: number): number {
  return Math.log(Math.max(value, reference * 1e-9) / reference);
}

export function logReturns(closes: readonly number[]): number[] {
  return closes.slice(1).map((c, i) => logRatio(c, closes[i] as number));
}

/** Share of paths whose final close is above the last close. */
export function probabilityUp(dist: PathDistributions, lastClose: number): number {
  const final = dist.close[dist.horizon - 1] as Float64Array;
  return final.reduce((n, c) => n + (c > lastClose ? 1 : 0), 0) / dist.paths;
}

/** Sample std of the log returns of the last `horizon` closes of the history (what P(volatility expands) compares against); NaN below two returns. */
export function historicalVolatility(history: readonly number[], horizon: number): number {
  return sampleStd(logReturns(history.slice(-horizon)));
}

/**
 * The Kronos demo's "volatility amplification probability": the share of paths whose log returns
 * (last close, then the path's closes) have a larger sample std than the log returns of the last
 * `horizon` closes of the history. Needs a horizon of at least 2 (one return has no sample std);
 * below that it is 0.
 */
export function probabilityVolExpands(
  values: Float64Array,
  paths: number,
  horizon: number,
  lastClose: number,
  history: readonly number[],
): number {
  const historical = historicalVolatility(history, horizon);
  if (!Number.isFinite(historical)) return 0;
  let expanding = 0;
  for (let p = 0; p < paths; p++) {
    const closes = [lastClose];
    for (let h = 0; h < horizon; h++) closes.push(values[(p * horizon + h) * FEATURE_COUNT + Feature.close] as number);
    if (sampleStd(logReturns(closes)) > historical) expanding++;
  }
  return expanding / paths;
}

/**
 * Mean over paths of the worst move against a position opened at the last close, as a fraction of
 * it: for a long the lowest low below the last close, for a short the highest high above it (0 for
 * a path that never goes against the position).
 */
export function expectedMaxAdverse(
  values: Float64Array,
  paths: number,
  horizon: number,
  lastClose: number,
): { long: number; short: number } {
  let long = 0;
  let short = 0;
  for (let p = 0; p < paths; p++) {
    let lowest = lastClose;
    let highest = lastClose;
    for (let h = 0; h < horizon; h++) {
      const row = (p * horizon + h) * FEATURE_COUNT;
      lowest = Math.min(lowest, values[row + Feature.low] as number);
      highest = Math.max(highest, values[row + Feature.high] as number);
    }
    long += (lastClose - lowest) / lastClose;
    short += (highest - lastClose) / lastClose;
  }
  return { long: long / paths, short: short / paths };
}

/** Mean of each step over paths for one field. */
export function meanPath(values: Float64Array, paths: number, horizon: number, feature: number): number[] {
  return Array.from({ length: horizon }, (_, h) => {
    let sum = 0;
    for (let p = 0; p < paths; p++) sum += values[(p * horizon + h) * FEATURE_COUNT + feature] as number;
    return sum / paths;
  });
}
