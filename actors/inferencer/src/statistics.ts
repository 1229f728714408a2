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

/** Quantile of sorted samples with linear interpolation between order statistics (numpy's default). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = q * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const fraction = position - below;
  return (sorted[below] as number) + fraction * ((sorted[above] as number) - (sorted[below] as number));
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
  const historical = sampleStd(logReturns(history.slice(-horizon)));
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
