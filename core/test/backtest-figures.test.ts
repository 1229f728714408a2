import { describe, expect, it } from 'vitest';
import { backtestFigures } from '../src/index.js';

const MIN = 60_000;
// Five 1m bars of a swap whose contract is 0.01 BTC.
const bars = [
  { ts: 0, close: 100 },
  { ts: MIN, close: 110 },
  { ts: 2 * MIN, close: 105 },
  { ts: 3 * MIN, close: 120 },
  { ts: 4 * MIN, close: 120 },
];
const fills = [
  { time: 30_000, side: 'buy' as const, size: 10, price: 100, fee: 0.5 },
  { time: 130_000, side: 'sell' as const, size: 10, price: 105, fee: 0.5 },
  { time: 190_000, side: 'sell' as const, size: 5, price: 120, fee: 0.25 },
];

describe('backtest figures, checked by hand', () => {
  const f = backtestFigures({ bars, fills, capital: 1000, contractValue: 0.01, barMs: MIN });

  it('marks equity at each close with the contract value (10 contracts × 10 USDT × 0.01 = 1 USDT)', () => {
    expect(f.equity.map((p) => p.equity)).toEqual([999.5, 1000.5, 999.5, 999.25, 999.25]);
    expect(f.equity.map((p) => p.position)).toEqual([10, 10, 0, -5, -5]);
    expect(f.endEquity).toBe(999.25);
    expect(f.totalReturn).toBeCloseTo(-0.00075, 12);
  });

  it('books the round trip net of both fees: +0.5 realised, -1.0 fees', () => {
    expect(f.roundTrips).toEqual([{ openedAt: 30_000, closedAt: 130_000, side: 'long', pnl: -0.5, fees: 1 }]);
    expect(f.trades).toBe(1);
    expect(f.winRate).toBe(0);
    expect(f.averageLoss).toBe(-0.5);
    expect(f.fees).toBe(1.25);
  });

  it('measures drawdown from the running peak and its longest duration', () => {
    expect(f.maxDrawdown).toBeCloseTo(1.25 / 1000.5, 10);
    // Under the 1000.5 peak from the close of bar 2 (3 min) to the end of the span (5 min).
    expect(f.maxDrawdownDurationMs).toBe(2 * MIN);
  });

  it('exposure, turnover and buy-and-hold over the same bars', () => {
    expect(f.exposure).toBe(0.8);
    const traded = 10 * 100 * 0.01 + 10 * 105 * 0.01 + 5 * 120 * 0.01;
    const meanEquity = (1000 + 999.5 + 1000.5 + 999.5 + 999.25 + 999.25) / 6;
    expect(f.turnover).toBeCloseTo(traded / meanEquity, 10);
    expect(f.buyAndHoldReturn).toBeCloseTo(0.2, 12);
  });

  it('Sharpe and Sortino from per-bar returns, annualised at the stated frequency', () => {
    const values = [1000, 999.5, 1000.5, 999.5, 999.25, 999.25];
    const r = values.slice(1).map((v, i) => v / (values[i] as number) - 1);
    const m = r.reduce((a, b) => a + b, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - m) ** 2, 0) / (r.length - 1));
    const down = Math.sqrt(r.reduce((a, x) => a + Math.min(x, 0) ** 2, 0) / r.length);
    expect(f.sharpe).toBeCloseTo((m / sd) * Math.sqrt(525_600), 6);
    expect(f.sortino).toBeCloseTo((m / down) * Math.sqrt(525_600), 6);
    expect(f.sharpe).toBeLessThan(0);
    expect(f.ratioFrequency).toBe('per bar of 1 min, annualised (525600 bars per year)');
  });

  it('is a pure function: the same input gives the same JSON byte for byte', () => {
    const again = backtestFigures({ bars, fills: [...fills].reverse(), capital: 1000, contractValue: 0.01, barMs: MIN });
    expect(JSON.stringify(again)).toBe(JSON.stringify(f));
  });

  it('closes flat on the lot grid: three 0.01 buys and three 0.01 sells are one long round trip, not a float-noise short', () => {
    // In floats 0.01 + 0.01 + 0.01 - 0.01 - 0.01 - 0.01 is -3.5e-18: a "short" of nothing.
    const lotsFills = [
      { time: 10_000, side: 'buy' as const, size: 0.01, price: 100, fee: 0 },
      { time: 70_000, side: 'buy' as const, size: 0.01, price: 110, fee: 0 },
      { time: 130_000, side: 'buy' as const, size: 0.01, price: 105, fee: 0 },
      { time: 190_000, side: 'sell' as const, size: 0.01, price: 120, fee: 0 },
      { time: 200_000, side: 'sell' as const, size: 0.01, price: 120, fee: 0 },
      { time: 210_000, side: 'sell' as const, size: 0.01, price: 120, fee: 0 },
    ];
    const g = backtestFigures({ bars, fills: lotsFills, capital: 1000, contractValue: 1, barMs: MIN });
    expect(g.roundTrips).toHaveLength(1);
    expect(g.roundTrips[0]).toMatchObject({ openedAt: 10_000, closedAt: 210_000, side: 'long' });
    // Bought at 100, 110, 105 (average 105), sold at 120: 3 × 0.01 × 15 = 0.45.
    expect(g.roundTrips[0]?.pnl).toBeCloseTo(0.45, 9);
    expect(g.equity.map((p) => p.position)).toEqual([0.01, 0.02, 0.03, 0, 0]);
    expect(g.exposure).toBeCloseTo(3 / 5, 12);
  });

  it('a spot instrument (contract value 1) with no trades keeps its capital', () => {
    const flat = backtestFigures({ bars, fills: [], capital: 500, contractValue: 1, barMs: MIN });
    expect(flat).toMatchObject({ endEquity: 500, totalReturn: 0, maxDrawdown: 0, trades: 0, exposure: 0, sharpe: 0 });
  });
});
