import { KokexError } from '@kokex/core';

/**
 * Stable error codes of the Binance adapter: callers (feed, executor) decide on `code` and
 * `retryable`, never on message text. The venue's own code is `BinanceApiError.binanceCode`.
 */
export const BinanceErrorCode = {
  /** Binance answered with an error body `{code, msg}`; see `binanceCode`. */
  Api: 'BINANCE_API',
  /** The HTTP request produced no answer (refused, reset). */
  Transport: 'BINANCE_TRANSPORT',
  /** The request took longer than the configured timeout: its outcome is unknown. */
  Timeout: 'BINANCE_TIMEOUT',
  /** A body or frame that is not the JSON shape Binance documents. */
  Malformed: 'BINANCE_MALFORMED',
  /** A private call without an API key and secret. */
  CredentialsMissing: 'BINANCE_CREDENTIALS_MISSING',
  /** Configuration rejected (a mode that cannot trade, a timeframe Binance does not serve). */
  Config: 'BINANCE_CONFIG',
  /** exchangeInfo lists no tradable symbol with that name. */
  InstrumentUnknown: 'BINANCE_INSTRUMENT_UNKNOWN',
} as const;
export type BinanceErrorCode = (typeof BinanceErrorCode)[keyof typeof BinanceErrorCode];

export class BinanceError extends KokexError {}

/**
 * Binance's codes by what a caller can do about them (reference §9): worth a retry after a pause,
 * or outcome unknown (ask the venue before repeating an order). Everything else is final.
 */
const RETRYABLE = new Set([-1000, -1001, -1003, -1006, -1007, -1008, -1015, -1021, -4117, -5028]);
const OUTCOME_UNKNOWN = new Set([-1000, -1006, -1007]);

export function isRetryableBinanceCode(code: number): boolean {
  return RETRYABLE.has(code);
}

export function isOutcomeUnknownBinanceCode(code: number): boolean {
  return OUTCOME_UNKNOWN.has(code);
}

export class BinanceApiError extends BinanceError {
  readonly binanceCode: number;
  readonly binanceMsg: string;
  readonly httpStatus: number;
  /** Seconds the venue asked to wait (Retry-After), when it said. */
  readonly retryAfterSec: number | undefined;

  constructor(details: { code: number; msg: string; httpStatus: number; path: string; retryAfterSec?: number }) {
    const retryable =
      isRetryableBinanceCode(details.code) || details.httpStatus === 429 || details.httpStatus === 418 || details.httpStatus >= 500;
    super(BinanceErrorCode.Api, `Binance ${details.code}: ${details.msg} (${details.path}, HTTP ${details.httpStatus})`, {
      retryable,
      data: { ...details },
    });
    this.binanceCode = details.code;
    this.binanceMsg = details.msg;
    this.httpStatus = details.httpStatus;
    this.retryAfterSec = details.retryAfterSec;
  }

  /** The venue may have executed the request (an order placed, or not). */
  get outcomeUnknown(): boolean {
    return isOutcomeUnknownBinanceCode(this.binanceCode) || (this.httpStatus >= 500 && this.binanceCode !== -1001);
  }

  get rateLimited(): boolean {
    return this.httpStatus === 429 || this.httpStatus === 418;
  }
}

export class BinanceTransportError extends BinanceError {
  constructor(path: string, cause: unknown) {
    super(BinanceErrorCode.Transport, `Binance unreachable (${path}): ${String((cause as Error)?.message ?? cause)}`, {
      retryable: true,
      cause,
      data: { path },
    });
  }
}

export class BinanceTimeoutError extends BinanceError {
  constructor(path: string, ms: number) {
    super(BinanceErrorCode.Timeout, `Binance did not answer ${path} within ${ms} ms`, { retryable: true, data: { path, timeoutMs: ms } });
  }
}

export class BinanceMalformedError extends BinanceError {
  constructor(what: string, detail: string) {
    super(BinanceErrorCode.Malformed, `Binance sent a malformed ${what}: ${detail}`, { retryable: true, data: { what } });
  }
}

export class BinanceConfigError extends BinanceError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(BinanceErrorCode.Config, message, { data });
  }
}

export class BinanceCredentialsMissingError extends BinanceError {
  constructor() {
    super(BinanceErrorCode.CredentialsMissing, 'Binance trading needs BINANCE_API_KEY and BINANCE_API_SECRET in the environment');
  }
}

export class BinanceInstrumentUnknownError extends BinanceError {
  constructor(symbol: string) {
    super(BinanceErrorCode.InstrumentUnknown, `Binance USDⓈ-M lists no tradable symbol "${symbol}"`, { data: { symbol } });
  }
}
