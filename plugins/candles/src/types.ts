import type { Candle, DataSource, SeriesKey } from '@kokex/core';

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
