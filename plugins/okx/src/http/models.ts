// Request parameters of the raw REST methods, named as OKX names them. Values are strings where
// OKX wants strings; the client adds nothing and renames nothing.
import type { OkxInstType, OkxOrdType, OkxPosSide, OkxSide, OkxTdMode, OkxTgtCcy } from '../common/enums.js';

/** A candle row as OKX sends it: `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]`, all strings. */
export type OkxCandleRow = string[];

/** A raw OKX object (instrument, ticker, order, ...): string fields, parsed by `parse*`. */
export type OkxRawObject = Record<string, unknown>;

export interface OkxCandlesParams {
  instId: string;
  bar?: string;
  /** Bars with ts < after (older). Exclusive. */
  after?: string | number;
  /** Bars with ts > before (newer). Exclusive; alone it returns the latest bars. */
  before?: string | number;
  /** ≤ 300 (default 100 at OKX). */
  limit?: number;
}

export interface OkxInstrumentsParams {
  instType: OkxInstType | string;
  instFamily?: string;
  instId?: string;
}

export interface OkxPlaceOrderParams {
  instId: string;
  tdMode: OkxTdMode | string;
  side: OkxSide | string;
  ordType: OkxOrdType | string;
  sz: string;
  px?: string;
  /** 1–32 letters and digits; unique among the user's pending orders. */
  clOrdId?: string;
  tag?: string;
  posSide?: OkxPosSide | string;
  reduceOnly?: boolean;
  tgtCcy?: OkxTgtCcy | string;
  ccy?: string;
  stpMode?: string;
}

export interface OkxOrderRef {
  instId: string;
  ordId?: string;
  clOrdId?: string;
}

export interface OkxOrdersPendingParams {
  instType?: string;
  instFamily?: string;
  instId?: string;
  ordType?: string;
  state?: string;
  after?: string;
  before?: string;
  limit?: number;
}

export interface OkxPositionsParams {
  instType?: string;
  instId?: string;
  posId?: string;
}

export interface OkxBalanceParams {
  /** Comma-separated, at most 20. */
  ccy?: string;
}

/** Which candle endpoint `requestCandleHistory` reads. */
export type OkxCandleSource = 'history' | 'recent' | 'auto';

export interface OkxCandleHistoryRequest {
  instId: string;
  bar: string;
  /** First bar open time wanted (inclusive, ms). */
  since: number;
  /** Bars opening before this (exclusive, ms). Default: now. */
  until?: number;
  /**
   * `history` = /market/history-candles (years, lags real time); `recent` = /market/candles (latest
   * 1,440 bars); `auto` = recent for windows inside its coverage, history before. Default `history`.
   */
  source?: OkxCandleSource;
  /** Rows per request, ≤ 300. Default 300; a server that caps lower is handled. */
  pageLimit?: number;
  /** Also yield the forming bar (confirm=0). Default false: closed bars only. */
  includeUnconfirmed?: boolean;
  signal?: AbortSignal;
}
