import type { Candle, DataSource } from '@kokex/core';

/** One OHLCV bar as data files hold it: open time in Unix ms (UTC), prices in quote, volume in base. */
export interface OhlcvBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Which series: the last three tokens of `kokex.md.candle.{venue}.{inst}.{tf}`. */
export interface SeriesKey {
  venue: string;
  inst: string;
  tf: string;
}

/** A series an active plan needs, with what the plan says about it. */
export interface MarketSeries extends SeriesKey {
  /** The plan's venue mode (sim, paper, demo, live): which endpoints the adapter talks to. */
  mode: string;
  /** History kept and validated, counted back from the venue's current bar. */
  windowMs: number;
  /** How often the validator re-scans the stored window. */
  scanEveryMs: number;
}

/** Bar open times wanted, as a half-open range [since, until); both optional. */
export interface HistoryRange {
  since?: number;
  until?: number;
}

/**
 * One way in for candle history. Every source yields closed candles of the key asked for, oldest
 * first, in pages; file sources stamp them with that key (venue, instrument, timeframe) because
 * they stand in for the venue's own history.
 */
export interface CandleSource {
  /** core's data sources, as plans name them: `venue` (REST history through the exchange adapter), `directory` (CSV files), `bundled` (the offline dataset). */
  readonly kind: DataSource;
  /** Where this key's bars come from, for logs and the CLI (a file, a venue, the dataset). */
  describe(key: SeriesKey): Promise<string>;
  history(key: SeriesKey, range?: HistoryRange): AsyncIterable<Candle[]>;
}
