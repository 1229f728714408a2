import { ErrorCode, KokexError } from '@kokex/core';

/**
 * Stable codes of the market-data packages (this library, core's market store, the feed and the
 * validator share the `MD_` family), listed in docs/errors.md: no data for a key, a data file that
 * does not parse, a candle stream unreadable (core's `CandleStoreError`).
 */
export const MarketDataErrorCode = { DataNotFound: 'MD_DATA_NOT_FOUND', DataParse: 'MD_DATA_PARSE', Store: 'MD_STORE' } as const;
export type MarketDataErrorCode = (typeof MarketDataErrorCode)[keyof typeof MarketDataErrorCode];

/** No data for the key: no data directory, no file for the instrument, a dataset that lacks it. */
export class DataNotFoundError extends KokexError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(MarketDataErrorCode.DataNotFound, message, { data });
  }
}

/** A data file that cannot be read as `ts,open,high,low,close,volume` CSV, or bundled JSON that is not candles. */
export class DataParseError extends KokexError {
  constructor(message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(MarketDataErrorCode.DataParse, message, { data, cause });
  }
}

/** A wrong `kokex data` argument (exit code 2), with core's CLI usage code. */
export class DataUsageError extends KokexError {
  constructor(message: string) {
    super(ErrorCode.CliUsage, message);
  }
}
