// The simulator's account state. Plain data; the engine mutates it, format.ts renders it as OKX does.

export interface SimInstrument {
  instId: string;
  instType: 'SPOT' | 'SWAP';
  baseCcy: string;
  quoteCcy: string;
  settleCcy: string;
  tickSz: string;
  lotSz: string;
  minSz: string;
  /** Contract face value in base currency (SWAP only). */
  ctVal?: string;
  /** Maximum leverage; SWAP margin uses it. */
  lever: string;
}

export interface SimFill {
  tradeId: string;
  fillPx: number;
  fillSz: number;
  /** Negative = charged. */
  fillFee: number;
  fillFeeCcy: string;
  fillTime: number;
  execType: 'T' | 'M';
}

export interface SimOrder {
  uid: string;
  ordId: string;
  clOrdId: string;
  tag: string;
  instId: string;
  instType: SimInstrument['instType'];
  side: 'buy' | 'sell';
  ordType: string;
  tdMode: string;
  posSide: string;
  px: number | undefined;
  sz: number;
  tgtCcy: string;
  reduceOnly: boolean;
  state: 'live' | 'partially_filled' | 'filled' | 'canceled';
  accFillSz: number;
  /** Notional of all fills, for the average price. */
  fillNotional: number;
  fee: number;
  feeCcy: string;
  cancelSource: string;
  lastFill: SimFill | undefined;
  cTime: number;
  uTime: number;
  /** Step number at placement: an order fills at the *next* price, never the one it saw. */
  placedStep: number;
  /** Would have crossed the book when placed (taker on its first evaluation). */
  marketableAtPlacement: boolean;
  /** Funds held for the order: currency and remaining amount. */
  frozenCcy: string;
  frozen: number;
}

export interface SimPosition {
  instId: string;
  posId: string;
  /** Net mode: signed contracts. */
  pos: number;
  avgPx: number;
  realizedPnl: number;
  fee: number;
  /** Margin locked in the settle currency (at entry price / leverage). */
  margin: number;
  lastTradeId: string;
  cTime: number;
  uTime: number;
}

export interface SimBalance {
  cash: number;
  frozen: number;
}

export interface SimAccount {
  uid: string;
  balances: Map<string, SimBalance>;
  orders: Map<string, SimOrder>;
  /** clOrdId → ordId of the latest order with it (GET /trade/order?clOrdId= returns the latest). */
  latestByClOrdId: Map<string, string>;
  positions: Map<string, SimPosition>;
}

export function isPending(order: SimOrder): boolean {
  return order.state === 'live' || order.state === 'partially_filled';
}

/** BTC-USDT spot and BTC-USDT-SWAP (0.01 BTC contracts) priced from the same candles. */
export function defaultInstruments(spotInstId: string): SimInstrument[] {
  const [base = 'BTC', quote = 'USDT'] = spotInstId.split('-');
  return [
    {
      instId: `${base}-${quote}`,
      instType: 'SPOT',
      baseCcy: base,
      quoteCcy: quote,
      settleCcy: '',
      tickSz: '0.1',
      lotSz: '0.00000001',
      minSz: '0.00001',
      lever: '10',
    },
    {
      instId: `${base}-${quote}-SWAP`,
      instType: 'SWAP',
      baseCcy: '',
      quoteCcy: '',
      settleCcy: quote,
      tickSz: '0.1',
      lotSz: '0.01',
      minSz: '0.01',
      ctVal: '0.01',
      lever: '100',
    },
  ];
}
