import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { SimError, SimErrorCode } from '../errors.js';

/** One bar of source data (the shape of the shared CSVs and of core's Candle). */
export interface SimCandle {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** An array of bars, or a path to a CSV / CSV.gz with header `ts,open,high,low,close,volume`. */
export type SimDataSource = readonly SimCandle[] | string;

export async function loadCandles(source: SimDataSource): Promise<SimCandle[]> {
  if (typeof source !== 'string')
    return source.map((c) => ({ ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }));
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch (err) {
    throw new SimError(SimErrorCode.Data, `cannot read candle data ${source}: ${(err as Error).message}`, { path: source }, err);
  }
  const text =
    source.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b) ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return parseCandleCsv(text, source);
}

/** CSV with a header naming at least ts, open, high, low, close (volume optional). */
export function parseCandleCsv(text: string, origin = 'csv'): SimCandle[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [iTs, iO, iH, iL, iC, iV] = ['ts', 'open', 'high', 'low', 'close', 'volume'].map(col) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if ([iTs, iO, iH, iL, iC].some((i) => i < 0)) {
    throw new SimError(SimErrorCode.Data, `${origin}: header must name ts,open,high,low,close[,volume]`, { header });
  }
  return lines.map((line, n) => {
    const cells = line.split(',');
    const num = (i: number) => (i < 0 ? 0 : Number(cells[i]));
    const candle = { ts: num(iTs), open: num(iO), high: num(iH), low: num(iL), close: num(iC), volume: num(iV) };
    if (Object.values(candle).some((v) => !Number.isFinite(v))) {
      throw new SimError(SimErrorCode.Data, `${origin}: line ${n + 2} is not numeric`, { line });
    }
    return candle;
  });
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
  const rand = mulberry32(options.seed ?? 42);
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

/** Small seeded PRNG (mulberry32): deterministic faults and synthetic data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
