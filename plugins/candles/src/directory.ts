import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { aggregateBars, canAggregate, isTimeframe, type OhlcvBar, timeframeMs } from '@kokex/core';
import { fillMissingBars, readCandleFile } from './csv.js';
import { DataNotFoundError } from './errors.js';

/**
 * The data directory: gzipped or plain CSV files named `{exchange}_{symbol}_{interval}_{range}.csv[.gz]`
 * (`okx_BTC-USDT-SWAP_1m_2026-01.csv.gz`, `binance_BTCUSDT_1h_2021-06_2026-06.csv.gz`). An
 * instrument maps to the OKX file of its exact instrument id, else to the Binance file of its
 * symbol (`BTC-USDT-SWAP` → `BTCUSDT`); a timeframe to the file of that interval, else to a
 * shorter one rolled up (1m → 1H).
 */
export interface DataFileInfo {
  path: string;
  name: string;
  exchange: 'okx' | 'binance';
  symbol: string;
  /** The file's bar as an OKX bar name (Binance `1h` → `1H`, `1d` → `1Dutc`). */
  tf: string;
}

/** The files chosen for one instrument and timeframe. */
export interface SeriesFileChoice {
  files: DataFileInfo[];
  /** Bar of the files; differs from the asked timeframe when they are rolled up. */
  fileTf: string;
  aggregated: boolean;
}

/** Binance intervals as OKX bar names; Binance days and longer open on UTC boundaries. */
const BINANCE_INTERVALS: Record<string, string> = {
  '1m': '1m',
  '3m': '3m',
  '5m': '5m',
  '15m': '15m',
  '30m': '30m',
  '1h': '1H',
  '2h': '2H',
  '4h': '4H',
  '6h': '6Hutc',
  '12h': '12Hutc',
  '1d': '1Dutc',
  '3d': '3Dutc',
  '1w': '1Wutc',
  '1M': '1Mutc',
};

const FILE_NAME = /^(okx|binance)_([A-Za-z0-9-]+)_([0-9]+[A-Za-z]+)_.+\.csv(\.gz)?$/;

/** Precedence: an explicit directory (CLI `--dir`), the plan's `data.directory`, then KOKEX_DATA_DIR. */
export function resolveDataDir(
  options: { explicit?: string; planDirectory?: string; env?: Record<string, string | undefined> } = {},
): string | undefined {
  const dir = options.explicit ?? options.planDirectory ?? (options.env ?? process.env).KOKEX_DATA_DIR;
  return dir ? resolve(dir) : undefined;
}

/** `BTC-USDT-SWAP` → `BTCUSDT`: base and quote of an OKX instrument id, as Binance writes them. */
export function binanceSymbol(inst: string): string {
  return inst.split('-').slice(0, 2).join('').toUpperCase();
}

export function parseDataFileName(dir: string, name: string): DataFileInfo | undefined {
  const m = FILE_NAME.exec(name);
  if (!m) return undefined;
  const exchange = m[1] as 'okx' | 'binance';
  const symbol = m[2] as string;
  const interval = m[3] as string;
  const tf = exchange === 'binance' ? BINANCE_INTERVALS[interval] : interval;
  if (!tf || !isTimeframe(tf)) return undefined;
  return { path: join(dir, name), name, exchange, symbol, tf };
}

/** Candle files in the directory, by name; throws DataNotFoundError when the directory is missing. */
export async function listDataFiles(dir: string): Promise<DataFileInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new DataNotFoundError(`data directory ${dir} cannot be read (${(err as Error).message}); set KOKEX_DATA_DIR`, { dir });
  }
  return names
    .sort()
    .map((n) => parseDataFileName(dir, n))
    .filter((f): f is DataFileInfo => f !== undefined);
}

/**
 * OKX files of the exact instrument before Binance files of its symbol; within each, the asked
 * interval before the longest shorter one that rolls up into it.
 */
export function chooseSeriesFiles(files: readonly DataFileInfo[], inst: string, tf: string): SeriesFileChoice | undefined {
  const groups = [
    files.filter((f) => f.exchange === 'okx' && f.symbol === inst),
    files.filter((f) => f.exchange === 'binance' && f.symbol === binanceSymbol(inst)),
  ];
  for (const group of groups) {
    const exact = group.filter((f) => f.tf === tf);
    if (exact.length > 0) return { files: exact, fileTf: tf, aggregated: false };
    const finer = group.filter((f) => canAggregate(f.tf, tf)).sort((a, b) => timeframeMs(b.tf) - timeframeMs(a.tf));
    const best = finer[0];
    if (best) return { files: finer.filter((f) => f.tf === best.tf), fileTf: best.tf, aggregated: true };
  }
  return undefined;
}

/** Every file's bars (gaps inside a file filled as OKX fills them), merged ascending; overlaps keep the first file's bar. */
async function mergedBars(choice: SeriesFileChoice): Promise<OhlcvBar[]> {
  const baseMs = timeframeMs(choice.fileTf);
  const perFile = await Promise.all(choice.files.map(async (f) => fillMissingBars(await readCandleFile(f.path), baseMs)));
  if (perFile.length === 1) return perFile[0] as OhlcvBar[];
  const byTs = new Map<number, OhlcvBar>();
  for (const bar of perFile.flat()) if (!byTs.has(bar.ts)) byTs.set(bar.ts, bar);
  return [...byTs.values()].sort((a, b) => a.ts - b.ts);
}

/** The bars of `inst` at `tf` from the directory, rolled up when only shorter bars exist. */
export async function loadDirectorySeries(dir: string, inst: string, tf: string): Promise<{ bars: OhlcvBar[]; choice: SeriesFileChoice }> {
  const choice = chooseSeriesFiles(await listDataFiles(dir), inst, tf);
  if (!choice) {
    throw new DataNotFoundError(`no file in ${dir} serves ${inst} ${tf} (looked for okx_${inst}_… and binance_${binanceSymbol(inst)}_…)`, {
      dir,
      inst,
      tf,
    });
  }
  const bars = await mergedBars(choice);
  return { bars: choice.aggregated ? aggregateBars(bars, timeframeMs(choice.fileTf), tf) : bars, choice };
}
