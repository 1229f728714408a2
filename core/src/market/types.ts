/** Which series: the last three tokens of `kokex.md.candle.{venue}.{inst}.{tf}` (and of `kokex.md.raw.…`). */
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

/** One OHLCV bar as data files hold it: open time in Unix ms (UTC), prices in quote, volume in base. */
export interface OhlcvBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}
