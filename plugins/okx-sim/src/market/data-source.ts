import { type OhlcvBar, seededRandom } from '@kokex/core';
import { parseCandleCsv as parseSharedCsv, readCandleFile } from '@kokex/plugin-candles';
import { SimError, SimErrorCode } from '../errors.js';

/** One bar of source data: core's bar shape (the data files' columns). */
export type SimCandle = OhlcvBar;

/** An array of bars, or a path to a CSV / CSV.gz with header `ts,open,high,low,close,volume`. */
export type SimDataSource = readonly SimCandle[] | string;

export async function loadCandles(source: SimDataSource): Promise<SimCandle[]> {
  if (typeof source !== 'string')
    return source.map((c) => ({ ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }));
  try {
    return await readCandleFile(source);
  } catch (err) {
    throw new SimError(SimErrorCode.Data, `cannot read candle data ${source}: ${(err as Error).message}`, { path: source }, err);
  }
}

/** CSV with a header naming at least ts, open, high, low, close (volume optional); the shared reader of @kokex/plugin-candles. */
export function parseCandleCsv(text: string, origin = 'csv'): SimCandle[] {
  try {
    return parseSharedCsv(text, origin);
  } catch (err) {
    throw new SimError(SimErrorCode.Data, (err as Error).message, { origin }, err);
  }
}

export interface SyntheticCandleOptions {
  /** First bar open (ms). Default 2025-06-01T00:00:00Z. */
  start?: number;
  count: number;
  /** Bar length. Default 60,000 (1m). */
  barMs?: number;
  startPrice?: number;
  /** Same seed, same series. */
  seed?: number;
}

/** A deterministic random walk, so tests need no data files. */
export function syntheticCandles(options: SyntheticCandleOptions): SimCandle[] {
  const rand = seededRandom(options.seed ?? 42);
  const barMs = options.barMs ?? 60_000;
  let price = options.startPrice ?? 30_000;
  const start = options.start ?? Date.UTC(2025, 5, 1);
  const out: SimCandle[] = [];
  for (let i = 0; i < options.count; i++) {
    const open = price;
    const close = round2(open * (1 + (rand() - 0.5) * 0.004));
    const high = round2(Math.max(open, close) * (1 + rand() * 0.001));
    const low = round2(Math.min(open, close) * (1 - rand() * 0.001));
    out.push({ ts: start + i * barMs, open, high, low, close, volume: Math.round(rand() * 1_000_000) / 1000 });
    price = close;
  }
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
