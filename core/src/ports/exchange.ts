import type { Candle } from '../contracts/market.js';

/**
 * What actors need from an exchange, whatever the venue. Adapters (plugins/okx, a paper venue)
 * implement it and map every venue shape to these types at their boundary; actors get one through
 * the adapter registry (`Tokens.Adapters`), never by importing a plugin.
 */
export interface InstrumentInfo {
  venue: string;
  inst: string;
  /** SPOT, SWAP, FUTURES, … as the venue names it. */
  instType: string;
  tickSize: number;
  lotSize: number;
  minSize: number;
  /**
   * The smallest order notional the venue accepts, in the quote currency (Binance's MIN_NOTIONAL);
   * absent where the venue has none (OKX). Orders that only reduce a position are exempt.
   */
  minNotional?: number;
  /** Contract value for derivatives (base units per contract); 1 for spot. */
  contractValue: number;
  baseCcy?: string;
  quoteCcy?: string;
  /** `live` when tradable. */
  state: string;
}

export interface Ticker {
  inst: string;
  last: number;
  bid?: number;
  ask?: number;
  ts: number;
}

/** A half-open time range of bar open times, [since, until). */
export interface CandleQuery {
  inst: string;
  tf: string;
  since?: number;
  until?: number;
}

export interface CandleStreamEvents {
  /** Every candle push: in-progress (`confirmed: false`) and closed. */
  onCandle(candle: Candle): void;
  /** After a reconnect has resubscribed: the time to fetch what was missed. */
  onResubscribed?(): void;
  /** A malformed frame, a failed resubscribe…: reported, never thrown into the adapter's loop. */
  onError?(error: unknown): void;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface MarketDataAdapter {
  readonly venue: string;
  subscribeCandles(keys: Array<{ inst: string; tf: string }>, events: CandleStreamEvents): Promise<Subscription>;
  /** Closed bars in the range, oldest first, in pages. */
  candleHistory(query: CandleQuery): AsyncIterable<Candle[]>;
  instrument(inst: string): Promise<InstrumentInfo>;
  ticker(inst: string): Promise<Ticker>;
  close(): Promise<void>;
}

/** An order as the executor asks for it; the client order id is the idempotency key. */
export interface PlaceOrderRequest {
  inst: string;
  side: 'buy' | 'sell';
  /** In the venue's order unit (base currency for spot, contracts for swaps). */
  size: number;
  type: 'market' | 'limit';
  price?: number;
  reduceOnly: boolean;
  clientOrderId: string;
}

export type VenueOrderState = 'live' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';

export interface VenueOrder {
  inst: string;
  clientOrderId?: string;
  venueOrderId: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  price?: number;
  size: number;
  filledSize: number;
  avgPrice?: number;
  state: VenueOrderState;
  /** Venue time of the last change (ms). */
  updatedAt: number;
}

export interface PlaceOrderResult {
  venueOrderId: string;
  clientOrderId: string;
  /** False when the venue refused the order; `reason` says why (venue code and text). */
  accepted: boolean;
  reason?: string;
  /** True when the venue already had this client order id (a retry after a crash): nothing new was placed. */
  duplicate: boolean;
}

export interface Position {
  inst: string;
  /** Signed: positive long, negative short, in the venue's order unit. */
  size: number;
  avgPrice: number;
  unrealizedPnl?: number;
  updatedAt: number;
}

export interface Balance {
  ccy: string;
  total: number;
  available: number;
}

/** A fill or a state change of one of our orders, as the venue reported it. */
export interface VenueOrderUpdate {
  order: VenueOrder;
  /** Present when this update is a fill. */
  fill?: { price: number; size: number; fee: number; feeCcy?: string; tradeId?: string };
  reason?: string;
  receivedAt: number;
}

export interface OrderStreamEvents {
  onOrder(update: VenueOrderUpdate): void;
  onResubscribed?(): void;
  onError?(error: unknown): void;
}

/** What the executor needs from a venue. Errors say whether a retry can help (`retryable`). */
export interface ExecutionAdapter {
  readonly venue: string;
  placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderResult>;
  cancelOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<void>;
  /** Undefined when the venue does not know the order (never placed). */
  getOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<VenueOrder | undefined>;
  openOrders(inst?: string): Promise<VenueOrder[]>;
  positions(inst?: string): Promise<Position[]>;
  balances(): Promise<Balance[]>;
  subscribeOrders(events: OrderStreamEvents): Promise<Subscription>;
  close(): Promise<void>;
}
