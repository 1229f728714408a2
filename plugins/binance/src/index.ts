// Public face of @kokex/plugin-binance. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { binanceExchangeAdapter, binanceExecutionAdapter } from './adapter.js';

export { BinanceVenueAdapter, binanceExchangeAdapter, binanceExecutionAdapter, binanceInterval, createBinanceAdapter } from './adapter.js';
export {
  BINANCE_ADAPTER_MODES,
  BINANCE_INTERVALS,
  BINANCE_SIM_CREDENTIALS,
  BINANCE_SIM_DEFAULT_PORT,
  BINANCE_URLS,
  binanceAdapterConfigSchema,
  binanceUrls,
  credentialsFromEnv,
} from './config.js';
export {
  BinanceApiError,
  BinanceConfigError,
  BinanceCredentialsMissingError,
  BinanceError,
  BinanceErrorCode,
  BinanceInstrumentUnknownError,
  BinanceMalformedError,
  BinanceTimeoutError,
  BinanceTransportError,
  isOutcomeUnknownBinanceCode,
  isRetryableBinanceCode,
} from './errors.js';
export { BinanceRestClient } from './http.js';
export {
  BINANCE_VENUE,
  balanceFromRest,
  candleFromKlineEvent,
  candleFromRow,
  orderState,
  orderUpdateFromEvent,
  orderUpdateKey,
  positionFromRest,
  venueOrderFromRest,
} from './parse.js';
export { decimal, encodeParams, signPayload } from './sign.js';
export { ReconnectingSocket } from './socket.js';

export type { BinanceInstrumentInfo } from './adapter.js';
export type { BinanceAdapterConfig, BinanceAdapterMode, BinanceAdapterOptions, BinanceCredentials } from './config.js';
export type { BinanceRequest, BinanceRestOptions, BinanceSecurity } from './http.js';
export type { ReconnectingSocketOptions } from './socket.js';

/** The plugin: the `exchange` and `execution` adapters named `binance` (manifest in package.json). */
export default definePlugin({
  name: '@kokex/plugin-binance',
  version: '0.1.0',
  adapters: [binanceExchangeAdapter, binanceExecutionAdapter],
});
