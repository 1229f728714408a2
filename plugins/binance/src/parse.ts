import type { Balance, Candle, Position, VenueOrder, VenueOrderState, VenueOrderUpdate } from '@kokex/core';
import { BinanceMalformedError } from './errors.js';

export const BINANCE_VENUE = 'binance';

const num = (v: unknown, what: string): number => {
  const n = typeof v === 'number' ? v : Number(v);
  if (v === undefined || v === null || v === '' || !Number.isFinite(n))
    throw new BinanceMalformedError(what, `not a number: ${JSON.stringify(v)}`);
  return n;
};

/** A REST kline row `[openTime, o, h, l, c, v, closeTime, quoteVolume, …]` as a closed candle of `tf`. */
export function candleFromRow(row: unknown, inst: string, tf: string, receivedAt?: number): Candle {
  if (!Array.isArray(row) || row.length < 8) throw new BinanceMalformedError('kline row', JSON.stringify(row)?.slice(0, 80) ?? '');
  return {
    venue: BINANCE_VENUE,
    inst,
    tf,
    ts: num(row[0], 'kline openTime'),
    open: num(row[1], 'kline open'),
    high: num(row[2], 'kline high'),
    low: num(row[3], 'kline low'),
    close: num(row[4], 'kline close'),
    volume: num(row[5], 'kline volume'),
    volumeQuote: num(row[7], 'kline quote volume'),
    confirmed: true,
    ...(receivedAt === undefined ? {} : { receivedAt }),
  };
}

/** The `k` of a kline stream event as a candle; `confirmed` is Binance's closed flag `x`. */
export function candleFromKlineEvent(data: unknown, inst: string, tf: string, receivedAt?: number): Candle {
  const k = (data as { k?: Record<string, unknown> })?.k;
  if (!k || typeof k !== 'object') throw new BinanceMalformedError('kline event', JSON.stringify(data)?.slice(0, 80) ?? '');
  return {
    venue: BINANCE_VENUE,
    inst,
    tf,
    ts: num(k.t, 'kline t'),
    open: num(k.o, 'kline o'),
    high: num(k.h, 'kline h'),
    low: num(k.l, 'kline l'),
    close: num(k.c, 'kline c'),
    volume: num(k.v, 'kline v'),
    volumeQuote: num(k.q, 'kline q'),
    confirmed: k.x === true,
    ...(receivedAt === undefined ? {} : { receivedAt }),
  };
}

const STATES: Record<string, VenueOrderState> = {
  NEW: 'live',
  PARTIALLY_FILLED: 'partially_filled',
  FILLED: 'filled',
  CANCELED: 'canceled',
  EXPIRED: 'canceled',
  EXPIRED_IN_MATCH: 'canceled',
  REJECTED: 'rejected',
};

export function orderState(status: unknown): VenueOrderState {
  const s = STATES[String(status)];
  if (!s) throw new BinanceMalformedError('order status', String(status));
  return s;
}

/** A REST order (`GET /fapi/v1/order`, openOrders, place and cancel answers) as core's `VenueOrder`. */
export function venueOrderFromRest(o: Record<string, unknown>): VenueOrder {
  const type = o.type === 'LIMIT' ? 'limit' : 'market';
  const avg = Number(o.avgPrice);
  return {
    inst: String(o.symbol),
    clientOrderId: typeof o.clientOrderId === 'string' ? o.clientOrderId : undefined,
    venueOrderId: String(o.orderId),
    side: o.side === 'SELL' ? 'sell' : 'buy',
    type,
    ...(type === 'limit' ? { price: num(o.price, 'order price') } : {}),
    size: num(o.origQty, 'order origQty'),
    filledSize: num(o.executedQty, 'order executedQty'),
    ...(avg > 0 ? { avgPrice: avg } : {}),
    state: orderState(o.status),
    updatedAt: num(o.updateTime ?? o.time, 'order updateTime'),
  };
}

/** An `ORDER_TRADE_UPDATE` as core's update; a fill when `x` is TRADE with a trade id. */
export function orderUpdateFromEvent(event: Record<string, unknown>, receivedAt: number): VenueOrderUpdate {
  const o = event.o as Record<string, unknown> | undefined;
  if (!o || typeof o !== 'object') throw new BinanceMalformedError('ORDER_TRADE_UPDATE', 'no "o"');
  const type = o.o === 'LIMIT' ? 'limit' : 'market';
  const avg = Number(o.ap);
  const order: VenueOrder = {
    inst: String(o.s),
    clientOrderId: typeof o.c === 'string' ? o.c : undefined,
    venueOrderId: String(o.i),
    side: o.S === 'SELL' ? 'sell' : 'buy',
    type,
    ...(type === 'limit' ? { price: num(o.p, 'order p') } : {}),
    size: num(o.q, 'order q'),
    filledSize: num(o.z, 'order z'),
    ...(avg > 0 ? { avgPrice: avg } : {}),
    state: orderState(o.X),
    updatedAt: num(o.T ?? event.T, 'order T'),
  };
  const trade = Number(o.t);
  const fill =
    o.x === 'TRADE' && trade > 0
      ? {
          price: num(o.L, 'fill L'),
          size: num(o.l, 'fill l'),
          fee: o.n === undefined ? 0 : num(o.n, 'fill n'),
          ...(typeof o.N === 'string' ? { feeCcy: o.N } : {}),
          tradeId: String(trade),
        }
      : undefined;
  const reason = o.x === 'EXPIRED' ? `expired (er ${String(o.er ?? '0')})` : undefined;
  return { order, ...(fill ? { fill } : {}), ...(reason ? { reason } : {}), receivedAt };
}

/** The key a repeated push shares with its first delivery (reference §7.5: i, x, X, z, t). */
export function orderUpdateKey(event: Record<string, unknown>): string {
  const o = (event.o ?? {}) as Record<string, unknown>;
  return [o.i, o.x, o.X, o.z, o.t].join('|');
}

export function positionFromRest(p: Record<string, unknown>): Position {
  return {
    inst: String(p.symbol),
    size: num(p.positionAmt, 'positionAmt'),
    avgPrice: num(p.entryPrice, 'entryPrice'),
    unrealizedPnl: Number(p.unRealizedProfit) || 0,
    updatedAt: Number(p.updateTime) || 0,
  };
}

/** Balance rows: `total` is the wallet plus unrealized PnL (equity), `available` what new orders may use. */
export function balanceFromRest(b: Record<string, unknown>): Balance {
  return {
    ccy: String(b.asset),
    total: num(b.balance, 'balance') + (Number(b.crossUnPnl) || 0),
    available: num(b.availableBalance, 'availableBalance'),
  };
}
