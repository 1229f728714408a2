// OKX V5 enumerations as `as const` objects with a union type of the same name.

export const OkxInstType = {
  Spot: 'SPOT',
  Margin: 'MARGIN',
  Swap: 'SWAP',
  Futures: 'FUTURES',
  Option: 'OPTION',
  Events: 'EVENTS',
  /** Only valid in some WebSocket subscriptions (orders, positions). */
  Any: 'ANY',
} as const;
export type OkxInstType = (typeof OkxInstType)[keyof typeof OkxInstType];

export const OkxSide = { Buy: 'buy', Sell: 'sell' } as const;
export type OkxSide = (typeof OkxSide)[keyof typeof OkxSide];

export const OkxTdMode = { Cash: 'cash', Cross: 'cross', Isolated: 'isolated', SpotIsolated: 'spot_isolated' } as const;
export type OkxTdMode = (typeof OkxTdMode)[keyof typeof OkxTdMode];

export const OkxOrdType = {
  Market: 'market',
  Limit: 'limit',
  PostOnly: 'post_only',
  Fok: 'fok',
  Ioc: 'ioc',
  OptimalLimitIoc: 'optimal_limit_ioc',
  Mmp: 'mmp',
  MmpAndPostOnly: 'mmp_and_post_only',
  OpFok: 'op_fok',
  Elp: 'elp',
} as const;
export type OkxOrdType = (typeof OkxOrdType)[keyof typeof OkxOrdType];

export const OkxOrderState = {
  Live: 'live',
  PartiallyFilled: 'partially_filled',
  Filled: 'filled',
  Canceled: 'canceled',
  MmpCanceled: 'mmp_canceled',
} as const;
export type OkxOrderState = (typeof OkxOrderState)[keyof typeof OkxOrderState];

export const OkxPosSide = { Net: 'net', Long: 'long', Short: 'short' } as const;
export type OkxPosSide = (typeof OkxPosSide)[keyof typeof OkxPosSide];

export const OkxTgtCcy = { Base: 'base_ccy', Quote: 'quote_ccy' } as const;
export type OkxTgtCcy = (typeof OkxTgtCcy)[keyof typeof OkxTgtCcy];

/** The three WebSocket endpoints; each channel lives on exactly one of them. */
export const OkxWsEndpoint = { Public: 'public', Private: 'private', Business: 'business' } as const;
export type OkxWsEndpoint = (typeof OkxWsEndpoint)[keyof typeof OkxWsEndpoint];

export const OkxRegion = { Global: 'global', Eea: 'eea', Us: 'us' } as const;
export type OkxRegion = (typeof OkxRegion)[keyof typeof OkxRegion];

/** `cancelSource` values the executor cares about. */
export const OkxCancelSource = {
  User: '1',
  FokNotFilled: '13',
  IocRemainder: '14',
  CancelAllAfter: '20',
  PostOnlyWouldTake: '31',
  SelfTradePrevention: '32',
} as const;
export type OkxCancelSource = (typeof OkxCancelSource)[keyof typeof OkxCancelSource];

/** Terminal order states: no further push changes them. */
export function isTerminalOrderState(state: string): boolean {
  return state === OkxOrderState.Filled || state === OkxOrderState.Canceled || state === OkxOrderState.MmpCanceled;
}

/**
 * instType from an instId's shape: `BTC-USDT` spot, `BTC-USDT-SWAP` perpetual, `BTC-USD-250328`
 * futures, `BTC-USD-250328-40000-C` option. MARGIN shares the spot shape, so it reads as SPOT.
 */
export function instTypeFromInstId(instId: string): OkxInstType {
  const parts = instId.split('-');
  if (parts.length >= 5) return OkxInstType.Option;
  if (parts.length === 3 && parts[2] === 'SWAP') return OkxInstType.Swap;
  if (parts.length === 3 && /^\d{6}$/.test(parts[2] ?? '')) return OkxInstType.Futures;
  return OkxInstType.Spot;
}
