import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { seededRandom } from '@kokex/core';

/** One source bar: open time (ms, UTC) and OHLCV in the base currency. */
export interface SimBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Bars as an array, or the path of a CSV (`ts,open,high,low,close,volume`, optionally .gz). */
export type SimBarSource = SimBar[] | string;

/**
 * Parses the project's candle CSV: a header naming `ts,open,high,low,close,volume` (in any
 * order; other columns are ignored), rows ascending by `ts`. Rows that do not parse are refused.
 */
export function parseBarCsv(text: string): SimBar[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`candle CSV: no "${name}" column (header: ${header.join(',')})`);
    return i;
  };
  const idx = { ts: col('ts'), open: col('open'), high: col('high'), low: col('low'), close: col('close'), volume: col('volume') };
  return lines.map((line, n) => {
    const cells = line.split(',');
    const bar = {
      ts: Number(cells[idx.ts]),
      open: Number(cells[idx.open]),
      high: Number(cells[idx.high]),
      low: Number(cells[idx.low]),
      close: Number(cells[idx.close]),
      volume: Number(cells[idx.volume]),
    };
    if (!Object.values(bar).every(Number.isFinite)) throw new Error(`candle CSV: row ${n + 2} does not parse: ${line}`);
    return bar;
  });
}

export async function loadBars(source: SimBarSource): Promise<SimBar[]> {
  if (typeof source !== 'string') return source;
  const raw = await readFile(source);
  return parseBarCsv((source.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'));
}

/** A random walk of `count` bars from `start`, for tests that need no particular market. */
export function syntheticBars(options: { count: number; start: number; barMs?: number; startPrice?: number; seed?: number }): SimBar[] {
  const rand = seededRandom(options.seed ?? 7);
  const barMs = options.barMs ?? 60_000;
  let price = options.startPrice ?? 60_000;
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return Array.from({ length: options.count }, (_, i) => {
    const open = price;
    const close = r1(open * (1 + (rand() - 0.5) * 0.004));
    const high = r1(Math.max(open, close) * (1 + rand() * 0.001));
    const low = r1(Math.min(open, close) * (1 - rand() * 0.001));
    price = close;
    return { ts: options.start + i * barMs, open, high, low, close, volume: Math.round(rand() * 100_000) / 1000 };
  });
}
