// Public face of @kokex/plugin-okx. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { okxExchangeAdapter, okxExecutionAdapter } from './venue.js';

export type { OkxAdapterConfig, OkxAdapterMode, OkxAdapterOptions } from './adapter.js';
export {
  createOkxMarketDataAdapter,
  OKX_ADAPTER_MODES,
  OKX_SIM_DEFAULT_PORT,
  OkxMarketDataAdapter,
  okxAdapterConfigSchema,
  okxOptionsForMode,
} from './adapter.js';
export { createOkxVenueAdapter, OKX_SIM_CREDENTIALS, OkxVenueAdapter, okxExchangeAdapter, okxExecutionAdapter } from './venue.js';
export {
  balancesFromOkx,
  okxDecimal,
  orderUpdateFromOkx,
  placeOrderParams,
  positionFromOkx,
  venueOrderFromOkx,
} from './execution/parse.js';

export type { OkxCredentials } from './common/credentials.js';
export { credentialsFromEnv, redactCredentials } from './common/credentials.js';
export {
  instTypeFromInstId,
  isTerminalOrderState,
  OkxCancelSource,
  OkxInstType,
  OkxOrderState,
  OkxOrdType,
  OkxPosSide,
  OkxRegion,
  OkxSide,
  OkxTdMode,
  OkxTgtCcy,
  OkxWsEndpoint,
} from './common/enums.js';
export {
  barFromCandleChannel,
  candleChannel,
  parseCandleRow,
  parseCandleRows,
  parseInstrument,
  parseTicker,
} from './common/parse.js';
export { parseBalance, parseFill, parseOrder, parseOrderAck, parsePosition } from './common/parse-trading.js';
export type { RestSignInput } from './common/sign.js';
export {
  hmacSha256Base64,
  restPrehash,
  restTimestamp,
  signRestRequest,
  signWsLogin,
  wsLoginTimestamp,
} from './common/sign.js';
export type { OkxUrlOptions, OkxUrls } from './common/urls.js';
export { okxRestBaseUrl, okxUrls, okxWsUrl } from './common/urls.js';
export type { OkxConfig, OkxOptions } from './config.js';
export { okxConfigSchema, resolveOkxConfig, restClientOptionsFromConfig, wsClientOptionsFromConfig } from './config.js';
export type { OkxApiErrorDetails } from './errors.js';
export {
  OkxApiError,
  OkxClosedError,
  OkxConfigError,
  OkxCredentialsMissingError,
  OkxError,
  OkxErrorCode,
  OkxInstrumentUnknownError,
  OkxInvalidRequestError,
  OkxMalformedResponseError,
  OkxParseError,
  OkxTimeoutError,
  OkxTransportError,
  OkxWsError,
} from './errors.js';
export type { OkxClients } from './factories.js';
export { createOkxClients } from './factories.js';
export type { OkxRestClientOptions } from './http/client.js';
export { OkxRestClient } from './http/client.js';
export type { OkxEndpointName, OkxEndpointSpec, OkxQuota, OkxQuotaKey } from './http/endpoints.js';
export { OkxEndpoints, quotaBucketKey } from './http/endpoints.js';
export type { OkxEnvelope } from './http/errors.js';
export { isOutcomeUnknownOkxCode, isRetryableOkxCode, OkxRestCode } from './http/errors.js';
export type { OkxCandlePageSource } from './http/history.js';
export { OKX_CANDLE_PAGE_MAX, paginateCandleHistory } from './http/history.js';
export type {
  OkxBalanceParams,
  OkxCandleHistoryRequest,
  OkxCandleRow,
  OkxCandleSource,
  OkxCandlesParams,
  OkxInstrumentsParams,
  OkxOrderRef,
  OkxOrdersPendingParams,
  OkxPlaceOrderParams,
  OkxPositionsParams,
  OkxRawObject,
} from './http/models.js';
export type { RateLimiterClock, RateLimiterOptions } from './http/rate-limiter.js';
export { OkxRateLimiter } from './http/rate-limiter.js';
export type { OkxRequestOptions, OkxRestTransportOptions } from './http/transport.js';
export { queryString } from './http/transport.js';
export type {
  OkxBalance,
  OkxBalanceDetail,
  OkxCandleContext,
  OkxFill,
  OkxInstrument,
  OkxOrder,
  OkxOrderAck,
  OkxPosition,
  OkxTicker,
} from './types.js';
export { OKX_VENUE } from './types.js';
export type { BackoffOptions } from './websocket/backoff.js';
export { backoffDelay } from './websocket/backoff.js';
export type { OkxConnectionInfo, OkxWsClientOptions, OkxWsEvents, OkxWsStats } from './websocket/client.js';
export { OkxWsClient } from './websocket/client.js';
export { CandleSequenceTracker, OrderPushDeduper } from './websocket/dedupe.js';
export { classifyWsFrame } from './websocket/handler.js';
export type {
  OkxWsArg,
  OkxWsEventFrame,
  OkxWsFrame,
  OkxWsLoginArg,
  OkxWsMalformedFrame,
  OkxWsOp,
  OkxWsPushFrame,
  OkxWsRequest,
} from './websocket/messages.js';
export { OKX_SERVICE_UPGRADE_CODE, OkxWsEvent } from './websocket/messages.js';
export {
  parseAccountPush,
  parseCandlePush,
  parseOrderPush,
  parsePositionPush,
  parseTickerPush,
} from './websocket/parse.js';
export { argKey, channelNeedsLogin, endpointForChannel, packRequests } from './websocket/subscriptions.js';

/** The plugin: the `exchange` adapter named `okx`, for market data and trading (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-okx', version: '0.1.0', adapters: [okxExchangeAdapter, okxExecutionAdapter] });
