import { KokexError } from '@kokex/core';

/**
 * Stable error codes of the OKX adapter. Every failure that leaves this package is one of these,
 * so callers (feed, executor) decide on `code` and `retryable`, never on message text.
 */
export const OkxErrorCode = {
  /** OKX answered with a non-zero `code` (or `sCode`); see `OkxApiError.okxCode`. */
  Api: 'OKX_API',
  /** The HTTP request never produced an answer (connection refused, reset, DNS). */
  Transport: 'OKX_TRANSPORT',
  /** The request took longer than the configured timeout. */
  Timeout: 'OKX_TIMEOUT',
  /** A REST body or WebSocket frame that is not the JSON shape OKX documents. */
  MalformedResponse: 'OKX_MALFORMED_RESPONSE',
  /** A row or object that parsed as JSON but whose fields make no sense (NaN price, bad ts). */
  Parse: 'OKX_PARSE',
  /** A private call without credentials. */
  CredentialsMissing: 'OKX_CREDENTIALS_MISSING',
  /** Configuration rejected by the schema. */
  Config: 'OKX_CONFIG',
  /** A request rejected before it was sent (bad clOrdId, bad parameter). */
  InvalidRequest: 'OKX_INVALID_REQUEST',
  /** WebSocket login answered with an error event. */
  WsLogin: 'OKX_WS_LOGIN',
  /** A subscribe/unsubscribe answered with an error event. */
  WsSubscribe: 'OKX_WS_SUBSCRIBE',
  /** An error event that belongs to no pending request. */
  WsError: 'OKX_WS_ERROR',
  /** An event listener of the WebSocket client threw; the client carries on. */
  Listener: 'OKX_LISTENER',
  /** The client was closed while a request was waiting. */
  Closed: 'OKX_CLOSED',
  /** OKX lists no instrument with that id. */
  InstrumentUnknown: 'OKX_INSTRUMENT_UNKNOWN',
} as const;
export type OkxErrorCode = (typeof OkxErrorCode)[keyof typeof OkxErrorCode];

/** Base of every OKX adapter error; a KokexError so it crosses the bus unchanged. */
export class OkxError extends KokexError {}

export interface OkxApiErrorDetails {
  /** Top-level `code` of the envelope (`"1"` for an all-failed batch). */
  okxCode: string;
  okxMsg: string;
  /** Per-item code from `data[i].sCode`, when the envelope carried one. */
  sCode?: string;
  sMsg?: string;
  subCode?: string;
  httpStatus?: number;
  /** Endpoint path (no query) for diagnostics. */
  path?: string;
  retryable: boolean;
}

/**
 * An answer from OKX with a non-zero code. `code` is the stable `OKX_API`; the venue's codes are
 * `okxCode` (top-level) and `sCode`/`sMsg` (per item). `effectiveCode` is the one to act on.
 */
export class OkxApiError extends OkxError {
  readonly okxCode: string;
  readonly okxMsg: string;
  readonly sCode: string | undefined;
  readonly sMsg: string | undefined;
  readonly subCode: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(details: OkxApiErrorDetails, cause?: unknown) {
    const effective = details.sCode && details.sCode !== '0' ? details.sCode : details.okxCode;
    const text = details.sMsg || details.okxMsg || 'no message';
    super(OkxErrorCode.Api, `OKX ${effective}: ${text}${details.path ? ` (${details.path})` : ''}`, {
      retryable: details.retryable,
      data: { ...details },
      cause,
    });
    this.okxCode = details.okxCode;
    this.okxMsg = details.okxMsg;
    this.sCode = details.sCode;
    this.sMsg = details.sMsg;
    this.subCode = details.subCode;
    this.httpStatus = details.httpStatus;
  }

  /** The code that says what went wrong: `sCode` when set and non-zero, else the top-level code. */
  get effectiveCode(): string {
    return this.sCode && this.sCode !== '0' ? this.sCode : this.okxCode;
  }
}

export class OkxTransportError extends OkxError {
  constructor(message: string, data: Record<string, unknown>, cause?: unknown) {
    super(OkxErrorCode.Transport, message, { retryable: true, data, cause });
  }
}

export class OkxTimeoutError extends OkxError {
  constructor(message: string, data: Record<string, unknown>) {
    super(OkxErrorCode.Timeout, message, { retryable: true, data });
  }
}

/** Not the JSON OKX documents. Retryable: a garbled frame or body says nothing about the next one. */
export class OkxMalformedResponseError extends OkxError {
  constructor(message: string, data: Record<string, unknown>, cause?: unknown) {
    super(OkxErrorCode.MalformedResponse, message, { retryable: true, data, cause });
  }
}

export class OkxParseError extends OkxError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(OkxErrorCode.Parse, message, { retryable: false, data });
  }
}

export class OkxCredentialsMissingError extends OkxError {
  constructor(what: string) {
    super(OkxErrorCode.CredentialsMissing, `${what} needs OKX API credentials (apiKey, secretKey, passphrase)`, {
      data: { what },
    });
  }
}

export class OkxConfigError extends OkxError {
  constructor(message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(OkxErrorCode.Config, message, { data, cause });
  }
}

export class OkxInvalidRequestError extends OkxError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(OkxErrorCode.InvalidRequest, message, { data });
  }
}

/** An `event:"error"` frame on a WebSocket; `okxCode` is OKX's code (60009, 60011, ...). */
export class OkxWsError extends OkxError {
  readonly okxCode: string;
  constructor(code: OkxErrorCode, okxCode: string, message: string, data: Record<string, unknown> = {}) {
    super(code, `OKX ${okxCode}: ${message}`, { retryable: isRetryableWsCode(okxCode), data: { okxCode, ...data } });
    this.okxCode = okxCode;
  }
}

export class OkxInstrumentUnknownError extends OkxError {
  constructor(instId: string) {
    super(OkxErrorCode.InstrumentUnknown, `OKX lists no instrument ${instId}`, { data: { instId } });
  }
}

export class OkxClosedError extends OkxError {
  constructor(what: string) {
    super(OkxErrorCode.Closed, `${what}: client closed`, { retryable: false, data: { what } });
  }
}

/** WS codes worth retrying: rate limits, internal errors, service upgrades, clock-skew expiry. */
function isRetryableWsCode(code: string): boolean {
  return code === '60014' || code === '60023' || code === '63999' || code === '64007' || code === '64008' || code === '60006';
}
