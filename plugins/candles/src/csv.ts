import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DataParseError } from './errors.js';
import type { OhlcvBar } from '@kokex/core';

const COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * CSV with a header naming at least `ts,open,high,low,close` (any order, any case; `volume`
 * optional and 0 when absent), as the shared data files and `kokex data` exports are written.
 */
export function parseCandleCsv(text: string, origin = 'csv'): OhlcvBar[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const [iTs, iOpen, iHigh, iLow, iClose, iVolume] = COLUMNS.map((name) => header.indexOf(name)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if ([iTs, iOpen, iHigh, iLow, iClose].some((i) => i < 0)) {
    throw new DataParseError(`${origin}: header must name ts,open,high,low,close[,volume]`, { origin, header });
  }
  const bars: OhlcvBar[] = new Array(lines.length);
  for (let n = 0; n < lines.length; n++) {
    const cells = (lines[n] as string).split(',');
    const num = (i: number) => (i < 0 ? 0 : Number(cells[i]));
    const bar = { ts: num(iTs), open: num(iOpen), high: num(iHigh), low: num(iLow), close: num(iClose), volume: num(iVolume) };
    if (!Number.isFinite(bar.ts + bar.open + bar.high + bar.low + bar.close + bar.volume)) {
      throw new DataParseError(`${origin}: line ${n + 2} is not numeric`, { origin, line: lines[n] });
    }
    bars[n] = bar;
  }
  return bars;
}

/** Gzip or plain, whatever the file name says: the magic bytes decide. */
function decode(bytes: Buffer, path: string): string {
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  try {
    return gzipped ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  } catch (err) {
    throw new DataParseError(`${path}: not a readable gzip file (${(err as Error).message})`, { path }, err);
  }
}

/** Parsed files by path, revalidated by size and mtime: tests and benchmarks read the same files often. */
const cache = new Map<string, { stamp: string; bars: Promise<OhlcvBar[]> }>();

/** Reads a candle CSV or CSV.gz file; cached while the file is unchanged, so treat the array as read-only. */
export async function readCandleFile(path: string): Promise<OhlcvBar[]> {
  let stamp: string;
  try {
    const s = await stat(path);
    stamp = `${s.size}:${s.mtimeMs}`;
  } catch (err) {
    throw new DataParseError(`cannot read candle file ${path}: ${(err as Error).message}`, { path }, err);
  }
  const hit = cache.get(path);
  if (hit && hit.stamp === stamp) return hit.bars;
  const bars = readFile(path).then((bytes) => parseCandleCsv(decode(bytes, path), path));
  cache.set(path, { stamp, bars });
  bars.catch(() => cache.delete(path));
  return bars;
}

/**
 * Sorted bars with every missing slot filled by a flat bar at the previous close with zero
 * volume, which is what OKX reports for a period without trades. A bar closer than `baseMs` to
 * the one before it (a duplicate, or off the grid) is dropped; the first one wins.
 */
export function fillMissingBars(sorted: readonly OhlcvBar[], baseMs: number): OhlcvBar[] {
  const out: OhlcvBar[] = [];
  for (const bar of sorted) {
    const prev = out[out.length - 1];
    if (prev && bar.ts < prev.ts + baseMs) continue;
    if (prev) {
      const flat = prev.close;
      for (let ts = prev.ts + baseMs; ts < bar.ts; ts += baseMs)
        out.push({ ts, open: flat, high: flat, low: flat, close: flat, volume: 0 });
    }
    out.push({ ts: bar.ts, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume });
  }
  return out;
}
