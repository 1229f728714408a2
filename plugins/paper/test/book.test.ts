import type { PlaceOrderRequest } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTRACTS, emptyPaperState, PaperBook } from '../src/index.js';

const FEES = { takerFee: 0.0005, makerFee: 0.0002, slippage: 0.0001 };
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10);
const SWAP = 'BTC-USDT-SWAP';

function book(balance = 10_000) {
  return new PaperBook(
    emptyPaperState(balance),
    FEES,
    (inst) => DEFAULT_CONTRACTS[inst] ?? (inst.split('-').length === 2 ? { contractValue: 1, lotSize: 0 } : undefined),
  );
}

const order = (fields: Partial<PlaceOrderRequest>): PlaceOrderRequest => ({
  inst: SWAP,
  side: 'buy',
  size: 1,
  type: 'market',
  reduceOnly: false,
  clientOrderId: `c${Math.random().toString(36).slice(2, 10)}`,
  ...fields,
});

const bar = (close: number, ts = T0, low = close, high = close) => ({ inst: SWAP, ts, close, low, high });

describe('paper book', () => {
  it('fills a market buy at the next closed bar, at the close plus slippage, with the taker fee', () => {
    const b = book();
    const placed = b.place(order({ clientOrderId: 'm1' }), 40_000, T0 + 10_000);
    expect(placed.result).toMatchObject({ accepted: true, duplicate: false });
    expect(placed.update?.order.state).toBe('live');
    // The bar that closed before the order was placed is not the order's.
    expect(b.onCandle(bar(40_000, T0 - MIN), MIN, T0 + 20_000)).toEqual([]);
    const [fill] = b.onCandle(bar(41_000, T0), MIN, T0 + MIN);
    const price = 41_000 * 1.0001;
    expect(fill?.order).toMatchObject({ state: 'filled', filledSize: 1, avgPrice: price });
    expect(fill?.fill?.fee).toBeCloseTo(0.01 * price * 0.0005, 10);
    expect(b.positions()).toEqual([{ inst: SWAP, size: 1, avgPrice: price, updatedAt: 0 }]);
  });

  it('rests a limit buy below the market and fills it at its price, as maker, when a bar reaches it', () => {
    const b = book();
    b.place(order({ clientOrderId: 'l1', type: 'limit', price: 39_500 }), 40_000, T0);
    expect(b.onCandle(bar(40_000, T0, 39_600, 40_100), MIN, T0 + MIN)).toEqual([]);
    const [fill] = b.onCandle(bar(39_800, T0 + MIN, 39_400, 40_000), MIN, T0 + 2 * MIN);
    expect(fill?.order).toMatchObject({ state: 'filled', avgPrice: 39_500 });
    expect(fill?.fill?.fee).toBeCloseTo(0.01 * 39_500 * 0.0002, 10);
  });

  it('fills a marketable limit on its first bar like a market order, never beyond its limit', () => {
    const b = book();
    b.place(order({ clientOrderId: 'ml', type: 'limit', price: 40_100 }), 40_000, T0);
    const [fill] = b.onCandle(bar(40_050, T0), MIN, T0 + MIN);
    expect(fill?.order.avgPrice).toBeCloseTo(40_050 * 1.0001, 6);
    const capped = book();
    capped.place(order({ clientOrderId: 'mc', type: 'limit', price: 40_100 }), 40_000, T0);
    // The close moved past the limit: it rests instead, and fills as maker once a bar trades through it.
    expect(capped.onCandle(bar(40_300, T0, 40_200, 40_400), MIN, T0 + MIN)).toEqual([]);
    expect(capped.onCandle(bar(40_000, T0 + MIN, 39_900, 40_200), MIN, T0 + 2 * MIN)[0]?.order.avgPrice).toBe(40_100);
  });

  it('realises PnL and fees into cash on a sell that closes a long, and takes a short from flat', () => {
    const b = book(10_000);
    b.place(order({ clientOrderId: 'o1', size: 2 }), 40_000, T0);
    b.onCandle(bar(40_000, T0), MIN, T0 + MIN);
    b.place(order({ clientOrderId: 'o2', side: 'sell', size: 3 }), 41_000, T0 + MIN);
    b.onCandle(bar(41_000, T0 + MIN), MIN, T0 + 2 * MIN);
    const buyPx = 40_000 * 1.0001;
    const sellPx = 41_000 * 0.9999;
    const fees = 2 * 0.01 * buyPx * 0.0005 + 3 * 0.01 * sellPx * 0.0005;
    expect(b.state.cash).toBeCloseTo(10_000 + 2 * 0.01 * (sellPx - buyPx) - fees, 8);
    expect(b.positions()).toEqual([{ inst: SWAP, size: -1, avgPrice: sellPx, updatedAt: 0 }]);
  });

  it('refuses what a venue refuses: reduce-only that does not reduce, no price, no balance, off the lot, no market data', () => {
    const b = book(100);
    expect(b.place(order({ reduceOnly: true, side: 'sell' }), 40_000, T0).result.reason).toMatch(/^reduce-only sell of 1 does not reduce/);
    expect(b.place(order({ type: 'limit' }), 40_000, T0).result.reason).toBe('a limit order needs a price');
    expect(b.place(order({ size: 1 }), 40_000, T0).result.reason).toMatch(/^insufficient balance: 100 available, 400 needed/);
    expect(b.place(order({ size: 0.015 }), 40_000, T0).result.reason).toMatch(/not a multiple of the lot 0.01/);
    expect(b.place(order({}), undefined, T0).result.reason).toMatch(/no closed candle/);
    expect(b.place(order({ inst: 'DOGE-USDT-SWAP' }), 1, T0).result.reason).toMatch(/unknown contract value/);
    expect(b.state.orders).toEqual([]);
  });

  it('answers a repeated client order id with the order it already has, and cancels only open orders', () => {
    const b = book();
    const first = b.place(order({ clientOrderId: 'same', type: 'limit', price: 30_000 }), 40_000, T0);
    const again = b.place(order({ clientOrderId: 'same', type: 'limit', price: 30_000 }), 40_000, T0);
    expect(again.result).toEqual({ ...first.result, duplicate: true });
    expect(again.update).toBeUndefined();
    expect(b.cancel({ clientOrderId: 'same' }, T0 + 1)?.order.state).toBe('canceled');
    expect(b.cancel({ clientOrderId: 'same' }, T0 + 2)).toBeUndefined();
    expect(b.open()).toEqual([]);
  });
});
