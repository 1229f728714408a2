import { barOpen } from '@kokex/core';
import { DataNotFoundError, loadBundledSeries, loadDirectorySeries, resolveDataDir } from '@kokex/plugin-candles';
import { loadCandles, type SimCandle } from './market/data-source.js';

/** What the simulator replays and where it came from (for the banner and the actor's status). */
export interface ReplayData {
  bars: SimCandle[];
  origin: string;
}

export interface ReplayDataOptions {
  /** The instrument the plan trades (`BTC-USDT-SWAP`); picks the data directory file. */
  inst: string;
  /** An explicit CSV(.gz), as `venue.sim.file` or `--data` gives it. */
  file?: string;
  /** The plan's `data.directory`; else KOKEX_DATA_DIR. */
  dataDir?: string;
  env?: Record<string, string | undefined>;
  /** Told which sources were passed over and why. */
  onSkip?(reason: string): void;
}

/**
 * Replay data, tried in order: the explicit file, the data directory's 1m file for the instrument
 * (OKX by exact id, else Binance by symbol), then the bundled offline dataset (BTC only).
 */
export async function chooseReplayData(o: ReplayDataOptions): Promise<ReplayData> {
  if (o.file) return { bars: await loadCandles(o.file), origin: o.file };
  const dir = resolveDataDir({ planDirectory: o.dataDir, env: o.env });
  if (dir) {
    try {
      const { bars, choice } = await loadDirectorySeries(dir, o.inst, '1m');
      return { bars, origin: choice.files.map((f) => f.path).join(', ') };
    } catch (err) {
      if (!(err instanceof DataNotFoundError)) throw err;
      o.onSkip?.(err.message);
    }
  } else {
    o.onSkip?.('no data directory (set KOKEX_DATA_DIR or the plan’s data.directory)');
  }
  return { bars: await loadBundledSeries(o.inst, '1m'), origin: 'gdax-sim-test-data (bundled GDAX BTC-USD 1m, 1-3 Jan 2016)' };
}

/** `BTC-USDT-SWAP` → `BTC-USDT`: the simulator lists a spot instrument and its `-SWAP` twin. */
export function spotInstrument(inst: string): string {
  return inst.split('-').slice(0, 2).join('-');
}

/**
 * Where the replay starts: `historyMs` into the data, so that much is history the venue's REST
 * serves before the first live bar, but never past half the data, so there is always a replay.
 */
export function replayStart(bars: readonly SimCandle[], historyMs: number, baseMs = 60_000): number {
  const first = bars[0]?.ts ?? 0;
  const half = Math.floor(bars.length / 2) * baseMs;
  return barOpen(first + Math.min(historyMs, half), '1m');
}
