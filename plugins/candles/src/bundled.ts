import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { aggregateBars, canAggregate, type OhlcvBar } from '@kokex/core';
import { fillMissingBars } from './csv.js';
import { DataNotFoundError, DataParseError } from './errors.js';

/**
 * The offline default: `gdax-sim-test-data` (MIT), real one-minute BTC-USD candles from GDAX for
 * 1–3 January 2016, installed with this package so a machine without network still replays real
 * prices. Minutes without trades are missing in the files and filled here with flat zero-volume
 * bars, as OKX reports such minutes.
 */
export const BUNDLED_DATASET = Object.freeze({
  package: 'gdax-sim-test-data',
  market: 'GDAX BTC-USD',
  base: 'BTC',
  tf: '1m',
  files: ['1Jan2016', '2Jan2016', '3Jan2016'].map((day) => `CapturedData/${day}.json`),
});

const MINUTE_MS = 60_000;
const require = createRequire(import.meta.url);
let loaded: Promise<OhlcvBar[]> | undefined;

interface GdaxCandle {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

async function readDay(file: string): Promise<OhlcvBar[]> {
  const path = require.resolve(`${BUNDLED_DATASET.package}/${file}`);
  const rows = JSON.parse(await readFile(path, 'utf8')) as GdaxCandle[];
  return rows.map((r, i) => {
    const bar = { ts: Date.parse(r.time), open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume };
    if (!Number.isFinite(bar.ts + bar.open + bar.high + bar.low + bar.close + bar.volume)) {
      throw new DataParseError(`${file}: row ${i} is not a candle`, { file, row: i });
    }
    return bar;
  });
}

/** Every bundled minute, ascending and gap-filled (4,320 bars). Read once per process. */
export function bundledBars(): Promise<OhlcvBar[]> {
  loaded ??= Promise.all(BUNDLED_DATASET.files.map(readDay)).then((days) =>
    fillMissingBars(
      days.flat().sort((a, b) => a.ts - b.ts),
      MINUTE_MS,
    ),
  );
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/** The dataset is BTC priced in dollars: it stands in for BTC instruments only (BTC-USDT, BTC-USDT-SWAP…). */
export function bundledServes(inst: string): boolean {
  return inst.split('-')[0]?.toUpperCase() === BUNDLED_DATASET.base;
}

/** The bundled bars of `tf` for a BTC instrument (rolled up from the minutes). */
export async function loadBundledSeries(inst: string, tf: string): Promise<OhlcvBar[]> {
  if (!bundledServes(inst)) {
    throw new DataNotFoundError(`the bundled dataset holds ${BUNDLED_DATASET.market} only; it cannot stand in for ${inst}`, { inst });
  }
  const minutes = await bundledBars();
  if (tf === BUNDLED_DATASET.tf) return minutes;
  if (!canAggregate(BUNDLED_DATASET.tf, tf)) {
    throw new DataNotFoundError(`the bundled dataset has 1m bars; ${tf} cannot be built from them`, { inst, tf });
  }
  return aggregateBars(minutes, MINUTE_MS, tf);
}
