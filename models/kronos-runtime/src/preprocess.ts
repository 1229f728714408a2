import type { Candle } from '@kokex/core';
import { KronosInputError } from './errors.js';

/**
 * Candles in, model inputs out, exactly as upstream `KronosPredictor.predict` prepares them (and as
 * `models/kronos/kronos/data.py` trains): six features, a per-window z-score over the lookback
 * with the population std, a clip, and UTC calendar stamps.
 */

/**
 * One bar as the runtime needs it: core's candle fields (`ts` is the open time, Unix ms, UTC), and
 * optionally the quote volume. Without `amount` it is volume × mean(open, high, low, close), which
 * is what the shipped model was trained on.
 */
export type CandleRow = Pick<Candle, 'ts' | 'open' | 'high' | 'low' | 'close' | 'volume'> & { amount?: number };

export const FEATURE_COUNT = 6;
export const STAMP_COUNT = 5;
/** Column of each feature in a row of `FEATURE_COUNT` values. */
export const Feature = { open: 0, high: 1, low: 2, close: 3, volume: 4, amount: 5 } as const;

export interface NormalizedWindow {
  /** [T, 6] normalized and clipped, float32 as the graphs take it. */
  x: Float32Array;
  /** Per-feature mean and population std of the lookback (float64). */
  mean: Float64Array;
  std: Float64Array;
}

/** [T, 6] float64: open, high, low, close, volume, amount. Refuses non-finite values (upstream raises on NaN too). */
export function candleFeatures(rows: readonly CandleRow[]): Float64Array {
  const out = new Float64Array(rows.length * FEATURE_COUNT);
  rows.forEach((r, t) => {
    const amount = r.amount ?? r.volume * ((r.open + r.high + r.low + r.close) / 4);
    const values = [r.open, r.high, r.low, r.close, r.volume, amount];
    for (let c = 0; c < FEATURE_COUNT; c++) {
      const v = values[c] as number;
      if (!Number.isFinite(v)) throw new KronosInputError(`candle ${t} (ts ${r.ts}) has a non-finite value in column ${c}`, { ts: r.ts });
      out[t * FEATURE_COUNT + c] = v;
    }
  });
  return out;
}

/** `(x - mean) / (std + eps)` per column over all T rows, clipped to ±clip. */
export function normalizeWindow(features: Float64Array, eps: number, clip: number): NormalizedWindow {
  const rows = features.length / FEATURE_COUNT;
  const mean = new Float64Array(FEATURE_COUNT);
  const std = new Float64Array(FEATURE_COUNT);
  for (let c = 0; c < FEATURE_COUNT; c++) {
    let sum = 0;
    for (let t = 0; t < rows; t++) sum += features[t * FEATURE_COUNT + c] as number;
    const m = sum / rows;
    let squares = 0;
    for (let t = 0; t < rows; t++) squares += ((features[t * FEATURE_COUNT + c] as number) - m) ** 2;
    mean[c] = m;
    std[c] = Math.sqrt(squares / rows);
  }
  const x = new Float32Array(features.length);
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < FEATURE_COUNT; c++) {
      const z = ((features[t * FEATURE_COUNT + c] as number) - (mean[c] as number)) / ((std[c] as number) + eps);
      x[t * FEATURE_COUNT + c] = Math.min(clip, Math.max(-clip, z));
    }
  }
  return { x, mean, std };
}

/** Inverse of the normalization for rows of 6 features: `x * (std + eps) + mean`, in float64. */
export function denormalize(x: Float32Array, mean: Float64Array, std: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % FEATURE_COUNT;
    out[i] = (x[i] as number) * ((std[c] as number) + eps) + (mean[c] as number);
  }
  return out;
}

/** [N, 5] int64 stamps in UTC: minute, hour, weekday (Monday = 0), day of month, month (1-12). */
export function timeStamps(ts: readonly number[]): BigInt64Array {
  const out = new BigInt64Array(ts.length * STAMP_COUNT);
  ts.forEach((t, i) => {
    const d = new Date(t);
    const row = [d.getUTCMinutes(), d.getUTCHours(), (d.getUTCDay() + 6) % 7, d.getUTCDate(), d.getUTCMonth() + 1];
    for (let c = 0; c < STAMP_COUNT; c++) out[i * STAMP_COUNT + c] = BigInt(row[c] as number);
  });
  return out;
}
