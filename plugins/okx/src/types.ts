// The adapter's own typed objects: what OKX shapes become after the parse* functions.
// Numbers are JS numbers; fields OKX leaves empty ("") are undefined. Every object that comes
// from the venue keeps the venue's time (`ts`/`uTime`) and the local receive time (`receivedAt`).
import type { OkxInstType } from './common/enums.js';

export const OKX_VENUE = 'okx';

export interface OkxInstrument {
  venue: typeof OKX_VENUE;
  instId: string;
  instType: string;
  instFamily: string | undefined;
  baseCcy: string | undefined;
  quoteCcy: string | undefined;
  settleCcy: string | undefined;
  /** Price increment. */
  tickSize: number;
  /** Size increment; `sz` must be a multiple (else 51121). */
  lotSize: number;
  minSize: number;
  /** Contract face value (derivatives): base currency for linear, USD for inverse. */
  contractValue: number | undefined;
  contractMultiplier: number | undefined;
  contractValueCcy: string | undefined;
  contractType: 'linear' | 'inverse' | undefined;
  state: string;
  listTime: number | undefined;
  expTime: number | undefined;
  maxLeverage: number | undefined;
  maxLimitSize: number | undefined;
  maxMarketSize: number | undefined;
}

export interface OkxTicker {
  venue: typeof OKX_VENUE;
  instType: string;
  instId: string;
  last: number;
  lastSize: number | undefined;
  bidPrice: number | undefined;
  bidSize: number | undefined;
  askPrice: number | undefined;
  askSize: number | undefined;
  open24h: number | undefined;
  high24h: number | undefined;
  low24h: number | undefined;
  vol24h: number | undefined;
  volCcy24h: number | undefined;
  ts: number;
  receivedAt: number;
}

/** One fill: on WS the fields of *this* update, on REST the order's last fill. */
export interface OkxFill {
  venue: typeof OKX_VENUE;
  instType: string;
  instId: string;
  ordId: string;
  clOrdId: string | undefined;
  tradeId: string;
  side: string;
  price: number;
  size: number;
  /** Negative = charged, positive = rebate (OKX's sign convention). */
  fee: number | undefined;
  feeCcy: string | undefined;
  /** `T` taker, `M` maker. */
  execType: string | undefined;
  ts: number;
  receivedAt: number;
}

export interface OkxOrder {
  venue: typeof OKX_VENUE;
  instType: string;
  instId: string;
  ordId: string;
  clOrdId: string | undefined;
  tag: string | undefined;
  side: string;
  posSide: string | undefined;
  tdMode: string | undefined;
  ordType: string;
  /** Limit price; undefined for market orders. */
  price: number | undefined;
  size: number;
  tgtCcy: string | undefined;
  state: string;
  /** Cumulative filled size (`accFillSz`). */
  filledSize: number;
  /** Average fill price; undefined until something fills (WS "0", REST ""). */
  avgPrice: number | undefined;
  /** Cumulative fee, OKX sign convention. */
  fee: number | undefined;
  feeCcy: string | undefined;
  reduceOnly: boolean;
  leverage: number | undefined;
  cancelSource: string | undefined;
  /** Amend request id; non-empty on amend responses. */
  reqId: string | undefined;
  /** The fill this update reports, when it reports one (non-empty tradeId). */
  fill: OkxFill | undefined;
  /** Per-update error code ("0" normally). */
  updateCode: string | undefined;
  updateMsg: string | undefined;
  createdAt: number;
  /** Venue update time (`uTime`). */
  ts: number;
  receivedAt: number;
}

export interface OkxPosition {
  venue: typeof OKX_VENUE;
  instType: string;
  instId: string;
  posId: string;
  mgnMode: string;
  posSide: string;
  /** In net mode the sign is the direction. Contracts for derivatives. */
  pos: number;
  availPos: number | undefined;
  avgPrice: number | undefined;
  markPrice: number | undefined;
  upl: number | undefined;
  uplRatio: number | undefined;
  leverage: number | undefined;
  liqPrice: number | undefined;
  margin: number | undefined;
  imr: number | undefined;
  mmr: number | undefined;
  notionalUsd: number | undefined;
  ccy: string | undefined;
  realizedPnl: number | undefined;
  fee: number | undefined;
  createdAt: number | undefined;
  ts: number;
  receivedAt: number;
}

export interface OkxBalanceDetail {
  ccy: string;
  eq: number;
  cashBal: number | undefined;
  availBal: number | undefined;
  frozenBal: number | undefined;
  ordFrozen: number | undefined;
  availEq: number | undefined;
  eqUsd: number | undefined;
  upl: number | undefined;
  ts: number | undefined;
}

export interface OkxBalance {
  venue: typeof OKX_VENUE;
  totalEq: number | undefined;
  availEq: number | undefined;
  imr: number | undefined;
  mmr: number | undefined;
  upl: number | undefined;
  details: OkxBalanceDetail[];
  ts: number;
  receivedAt: number;
}

/** Per-item answer of place/cancel: `sCode` "0" means *accepted*, not done. */
export interface OkxOrderAck {
  ordId: string;
  clOrdId: string | undefined;
  tag: string | undefined;
  sCode: string;
  sMsg: string;
  ts: number | undefined;
}

/** Context a candle row needs, since the row itself carries neither instrument nor bar. */
export interface OkxCandleContext {
  instId: string;
  bar: string;
  /** Defaults to the shape of instId; decides which volume column is base currency. */
  instType?: OkxInstType | string;
  receivedAt?: number;
  /** For short (pre-2023) rows without the `confirm` column. Default false. */
  confirmedIfMissing?: boolean;
}
