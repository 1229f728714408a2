// core's market-data helpers: series keys, the one candle check, aggregation, the plan series the
// feed and the validator work on. Re-exported from core's public face; loaders stay in plugins.
export { aggregateBars, canAggregate } from './aggregate.js';
export { CANDLE_CHECK_LEVELS, candleProblems, describeProblems, ohlcProblems, problemFaults, sameBar } from './check.js';
export { CandleStoreError, lastCandleMessage, publishRawCandles, readCandleMessages, storedCandles } from './store.js';
export { marketSeriesSchema, planSeriesConfigFields, seriesFromPlans, seriesId, withPlanSeries } from './series.js';

export type { CandleCheckLevel, CandleCheckOptions, CandleProblem } from './check.js';
export type { CandleFamily, PublishCandlesResult, StoredCandleMessage } from './store.js';
export type { MarketSeries, OhlcvBar, SeriesKey } from './types.js';
