import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ErrorCode, KokexError } from '../errors.js';
import { describeProblems, ohlcProblems } from '../market/check.js';
import { timeframeMs } from '../time/timeframe.js';

/**
 * The candles a backtest replays, read from a data directory of CSV files named as the data
 * directory names them (`{okx|binance}_{symbol}_{interval}_{range}.csv[.gz]`, header
 * `ts,open,high,low,close,volume`, `ts` the bar open in Unix ms). Everything is checked before a
 * server starts: a bad row, a duplicate, a row out of order or a gap is an error naming the file
 * and line, unless the gap policy says otherwise (`carry`: the missing bars are filled flat at the
 * previous close with no volume, and every filled span is listed in the report). Never a silent
 * hole in the equity curve.
 */
export const GAP_POLICIES = ['error', 'carry'] as const;
export type GapPolicy = (typeof GAP_POLICIES)[number];

export interface DataBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface DataFile {
  /** File name (never the directory: reports stay free of local paths). */
  name: string;
  sha256: string;
  rows: number;
}

export interface DataGap {
  /** Open time of the first missing bar and the number missing. */
  from: number;
  bars: number;
  /** `file:line` of the row after the gap. */
  at: string;
}

export interface BacktestData {
  bars: DataBar[];
  files: DataFile[];
  /** Bar length of the files (ms). */
  barMs: number;
  /** The files' interval as OKX names it (`1m`, `1H`). */
  tf: string;
  gaps: DataGap[];
  gapPolicy: GapPolicy;
}

/** Bad input: names the file and line where it can. */
export class BacktestDataError extends KokexError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(ErrorCode.BacktestData, message, { data });
  }
}

const BINANCE_INTERVALS: Record<string, string> = {
  '1m': '1m',
  '5m': '5m',
  '15m': '15m',
  '30m': '30m',
  '1h': '1H',
  '4h': '4H',
  '1d': '1Dutc',
};
const FILE_NAME = /^(okx|binance)_([A-Za-z0-9-]+)_([0-9]+[A-Za-z]+)_.+\.csv(\.gz)?$/;
const HEADER = 'ts,open,high,low,close,volume';

/** `BTC-USDT-SWAP` → `BTCUSDT`: how Binance writes the instrument's base and quote. */
function binanceSymbol(inst: string): string {
  return inst.split('-').slice(0, 2).join('').toUpperCase();
}

interface Candidate {
  name: string;
  exchange: string;
  symbol: string;
  tf: string;
}

/**
 * The files serving `inst`: OKX files of the exact instrument before Binance files of its symbol;
 * 1m files first (the simulator replays one-minute bars and builds the others from them), else the
 * plan's own timeframe.
 */
export async function findDataFiles(dir: string, inst: string, tf: string): Promise<{ paths: string[]; tf: string }> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new BacktestDataError(`data directory ${dir} cannot be read: ${(err as Error).message}`, { dir });
  }
  const candidates: Candidate[] = [];
  for (const name of names) {
    const m = FILE_NAME.exec(name);
    if (!m) continue;
    const exchange = m[1] as string;
    const interval = m[3] as string;
    const fileTf = exchange === 'binance' ? BINANCE_INTERVALS[interval] : interval;
    if (fileTf) candidates.push({ name, exchange, symbol: m[2] as string, tf: fileTf });
  }
  const groups = [
    candidates.filter((c) => c.exchange === 'okx' && c.symbol === inst),
    candidates.filter((c) => c.exchange === 'binance' && c.symbol === binanceSymbol(inst)),
  ];
  for (const want of ['1m', tf]) {
    for (const group of groups) {
      const hit = group.filter((c) => c.tf === want);
      if (hit.length) return { paths: hit.map((c) => join(dir, c.name)), tf: want };
    }
  }
  throw new BacktestDataError(
    `no file in ${dir} serves ${inst} at 1m or ${tf} (looked for okx_${inst}_{1m|${tf}}_….csv[.gz] and binance_${binanceSymbol(inst)}_…)`,
    { dir, inst, tf },
  );
}

/** Reads, checks and merges the files; `from`/`to` are checked against what the files hold. */
export async function loadBacktestData(o: { dir: string; inst: string; tf: string; gaps?: GapPolicy }): Promise<BacktestData> {
  const dir = resolve(o.dir);
  const gapPolicy = o.gaps ?? 'error';
  const found = await findDataFiles(dir, o.inst, o.tf);
  const barMs = timeframeMs(found.tf);
  const bars: DataBar[] = [];
  const files: DataFile[] = [];
  const gaps: DataGap[] = [];
  // Where each bar came from, for the error that names a duplicate's first copy.
  let prev: { ts: number; close: number; at: string } | undefined;
  for (const path of found.paths) {
    const name = basename(path);
    const raw = await readFile(path);
    let text: string;
    try {
      text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    } catch (err) {
      throw new BacktestDataError(`${name}: cannot be decompressed (${(err as Error).message})`, { file: name });
    }
    const lines = text.split(/\r?\n/);
    if ((lines[0] ?? '').trim() !== HEADER)
      throw new BacktestDataError(`${name}:1: the header must be "${HEADER}", found "${(lines[0] ?? '').slice(0, 80)}"`, {
        file: name,
        line: 1,
      });
    let rows = 0;
    for (let i = 1; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      const at = `${name}:${i + 1}`;
      const bar = parseRow(line, at);
      if (prev) {
        if (bar.ts === prev.ts)
          throw new BacktestDataError(`${at}: duplicate row for ts ${bar.ts} (first at ${prev.at})`, { at, ts: bar.ts });
        if (bar.ts < prev.ts)
          throw new BacktestDataError(`${at}: ts ${bar.ts} is before the previous row's ${prev.ts} (${prev.at}); rows must ascend`, { at });
        const missing = Math.round((bar.ts - prev.ts) / barMs) - 1;
        if ((bar.ts - prev.ts) % barMs !== 0)
          throw new BacktestDataError(`${at}: ts ${bar.ts} is not on the ${found.tf} grid of the rows before it`, { at });
        if (missing > 0) {
          const gap = { from: prev.ts + barMs, bars: missing, at };
          if (gapPolicy === 'error')
            throw new BacktestDataError(
              `${at}: a gap of ${missing} bar(s) from ${new Date(gap.from).toISOString()} (after ${prev.at}); fix the data or run with --gaps carry to fill gaps flat and list them in the report`,
              { ...gap },
            );
          gaps.push(gap);
          for (let k = 1; k <= missing; k++) {
            bars.push({ ts: prev.ts + k * barMs, open: prev.close, high: prev.close, low: prev.close, close: prev.close, volume: 0 });
          }
        }
      }
      bars.push(bar);
      prev = { ts: bar.ts, close: bar.close, at };
      rows++;
    }
    files.push({ name, sha256: createHash('sha256').update(raw).digest('hex'), rows });
  }
  if (bars.length === 0) throw new BacktestDataError(`${found.paths.map((p) => basename(p)).join(', ')}: no rows`, { dir });
  return { bars, files, barMs, tf: found.tf, gaps, gapPolicy };
}

function parseRow(line: string, at: string): DataBar {
  const cells = line.split(',');
  if (cells.length !== 6)
    throw new BacktestDataError(`${at}: expected 6 columns (${HEADER}), found ${cells.length}: "${line.slice(0, 80)}"`, { at });
  const [ts, open, high, low, close, volume] = cells.map((c) => Number(c.trim())) as [number, number, number, number, number, number];
  const names = HEADER.split(',');
  const bad = [ts, open, high, low, close, volume].findIndex((v, i) => !Number.isFinite(v) || (i > 0 && i < 5 && v <= 0) || v < 0);
  if (bad >= 0)
    throw new BacktestDataError(`${at}: ${names[bad]} "${cells[bad]?.trim()}" is not a valid number: "${line.slice(0, 80)}"`, {
      at,
      field: names[bad],
    });
  if (!Number.isInteger(ts)) throw new BacktestDataError(`${at}: ts "${cells[0]}" is not whole milliseconds`, { at });
  const bar = { ts, open, high, low, close, volume };
  const problems = ohlcProblems(bar);
  if (problems.length) throw new BacktestDataError(`${at}: ${describeProblems(problems)}`, { at });
  return bar;
}

/** The bars as the simulator reads a CSV file. */
export function barsToCsv(bars: readonly DataBar[]): string {
  return `${HEADER}\n${bars.map((b) => `${b.ts},${b.open},${b.high},${b.low},${b.close},${b.volume}`).join('\n')}\n`;
}
