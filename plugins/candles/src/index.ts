// Public face of @kokex/plugin-candles. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { dataCommand } from './command.js';

export { loadExchangeAdapter, pluginRoots } from './adapters.js';
export { aggregateBars, canAggregate } from './aggregate.js';
export { BUNDLED_DATASET, bundledBars, bundledServes, loadBundledSeries } from './bundled.js';
export { CandleFault, candleProblems, describeProblems } from './check.js';
export { dataCommand } from './command.js';
export { fillMissingBars, parseCandleCsv, readCandleFile } from './csv.js';
export { binanceSymbol, chooseSeriesFiles, listDataFiles, loadDirectorySeries, parseDataFileName, resolveDataDir } from './directory.js';
export { CandleStoreError, DataNotFoundError, DataParseError, DataUsageError, MarketDataErrorCode } from './errors.js';
export { pullCandles } from './pull.js';
export { marketSeriesSchema, planSeriesConfigFields, seriesFromPlans, seriesId, withPlanSeries } from './series.js';
export { firstAtOrAfter, openCandleSource } from './sources.js';
export { lastStoredMessage, publishCandles, readCandleMessages, storedCandles } from './store.js';

export type { LoadedExchange } from './adapters.js';
export type { CandleProblem } from './check.js';
export type { DataFileInfo, SeriesFileChoice } from './directory.js';
export type { PullCandlesOptions, PullCandlesResult, PullProgress } from './pull.js';
export type { CandleSourceSpec } from './sources.js';
export type { PublishCandlesResult, StoredCandleMessage } from './store.js';
export type { CandleSource, HistoryRange, MarketSeries, OhlcvBar, SeriesKey } from './types.js';

export default definePlugin({ name: '@kokex/plugin-candles', version: '0.1.0', commands: [dataCommand] });
