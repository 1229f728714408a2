// Public face of @kokex/core. Explicit exports only: values first, then types.
export { KokexError, ErrorCode, errorFromWire, toWireError } from './errors.js';
export { defineContract, InvalidMessageError, SchemaVersionError } from './contracts/envelope.js';
export { candleSchema, CandleContract } from './contracts/market.js';
export {
  TOKEN_PATTERN,
  describeTokenProblem,
  venueToken,
  instrumentToken,
  planToken,
  timeframeToken,
} from './contracts/tokens.js';
export {
  TIMEFRAMES,
  UnknownTimeframeError,
  isTimeframe,
  assertTimeframe,
  timeframeMs,
  barOpen,
  nextBarOpen,
} from './time/timeframe.js';

export type { WireError, KokexErrorOptions } from './errors.js';
export type { Contract, Envelope, EnvelopeMeta } from './contracts/envelope.js';
export type { Candle } from './contracts/market.js';
export type { Timeframe } from './time/timeframe.js';
