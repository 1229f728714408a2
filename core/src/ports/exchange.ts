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
