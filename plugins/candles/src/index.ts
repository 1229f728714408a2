// Public face of @kokex/plugin-candles. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { dataCommand } from './command.js';

export { loadExchangeAdapter, pluginRoots } from './adapters.js';
export { BUNDLED_DATASET, bundledBars, bundledServes, loadBundledSeries } from './bundled.js';
export { dataCommand } from './command.js';
export { fillMissingBars, parseCandleCsv, readCandleFile } from './csv.js';
export { binanceSymbol, chooseSeriesFiles, listDataFiles, loadDirectorySeries, parseDataFileName, resolveDataDir } from './directory.js';
export { DataNotFoundError, DataParseError, DataUsageError, MarketDataErrorCode } from './errors.js';
export { pullCandles } from './pull.js';
export { firstAtOrAfter, openCandleSource } from './sources.js';

export type { LoadedExchange } from './adapters.js';
export type { DataFileInfo, SeriesFileChoice } from './directory.js';
export type { PullCandlesOptions, PullCandlesResult, PullProgress } from './pull.js';
export type { CandleSourceSpec } from './sources.js';
export type { CandleSource, HistoryRange } from './types.js';

export default definePlugin({ name: '@kokex/plugin-candles', version: '0.1.0', commands: [dataCommand] });
