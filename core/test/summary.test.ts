import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFill, LiveSummary, money, sizeText } from '../src/cli/summary.js';
import { CandleContract, OrderEventContract, subject } from '../src/index.js';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';

describe('live summary position keeping', () => {
  it('averages entries, realizes on reduction, flips through zero', () => {
    const book = { size: 0, avgPrice: 0, realized: 0, fees: 0 };
    applyFill(book, 1, 100, 0.1);
    applyFill(book, 1, 110, 0.1);
    expect(book).toMatchObject({ size: 2, avgPrice: 105 });
    applyFill(book, -1, 120, 0.1);
    expect(book).toMatchObject({ size: 1, avgPrice: 105, realized: 15 });
    applyFill(book, -3, 100, 0.1);
    expect(book.size).toBe(-2);
    expect(book.avgPrice).toBe(100);
    expect(book.realized).toBeCloseTo(10);
    expect(book.fees).toBeCloseTo(0.4);
    applyFill(book, 2, 90, 0);
    expect(book).toMatchObject({ size: 0, avgPrice: 0 });
    expect(book.realized).toBeCloseTo(30);
  });
});

describe('live summary numbers a trader can trust', () => {
  it('realises PnL in quote currency with the contract value (0.01 BTC contracts)', () => {
    const book = { size: 0, avgPrice: 0, realized: 0, fees: 0 };
    applyFill(book, 10, 100_000, 0, 0.01);
    applyFill(book, -10, 100_100, 0, 0.01);
    // 10 contracts × 0.01 BTC × 100 USDT = 10 USDT, not 1,000.
    expect(book.realized).toBeCloseTo(10, 10);
  });

  it('leaves no float noise: a round trip at one price realises exactly 0, three 0.01 buys and sells end flat', () => {
    const trip = { size: 0, avgPrice: 0, realized: 0, fees: 0 };
    applyFill(trip, 0.01, 433.44, 0, 0.01);
    applyFill(trip, -0.01, 433.44, 0, 0.01);
    expect(trip).toMatchObject({ size: 0, realized: 0 });
    expect(money(trip.realized)).toBe('0');
    const lots = { size: 0, avgPrice: 0, realized: 0, fees: 0 };
    for (const s of [0.01, 0.01, 0.01, -0.01, -0.01, -0.01]) applyFill(lots, s, 433.17, 0, 0.01);
    expect(lots.size).toBe(0);
    expect(money(-5.68e-18)).toBe('0');
  });

  it('shows small fees with their digits and sizes in contracts and base', () => {
    expect(money(0.000312)).toBe('0.000312');
    expect(money(12.5)).toBe('12.5000');
    expect(money(1234.567)).toBe('1234.57');
    expect(sizeText(3, 0.01)).toBe('3 ct (0.03 base)');
    expect(sizeText(0.5, 1)).toBe('0.5');
  });
});

describe('live summary on a real bus', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('marks PnL with the contract value and closes with the figures a backtest computes, in market time', async () => {
    const lines: string[] = [];
    const summary = new LiveSummary(nats.bus, (l) => lines.push(l), {
      series: () => [{ inst: 'BTC-USDT-SWAP', tf: '1m', capital: 1000 }],
      contractValue: async () => 0.01,
    });
    summary.start();
    const t0 = Date.UTC(2016, 0, 1);
    const candle = (i: number, close: number) => ({
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      tf: '1m',
      ts: t0 + i * 60_000,
      open: close,
      high: close,
      low: close,
      close,
      volume: 1,
      confirmed: true,
    });
    const subj = subject('candle', { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m' });
    // Each candle speaks for its close (market time); its wall `time` is when it was sent.
    await nats.bus.publish(CandleContract, subj, candle(0, 100), { time: 1_000, eventTime: t0 + 60_000 });
    await eventually(() => summary.contractValueOf('BTC-USDT-SWAP') === 0.01);
    await nats.bus.publish(
      OrderEventContract,
      subject('orderEvent', { venue: 'okx', inst: 'BTC-USDT-SWAP' }),
      {
        venue: 'okx',
        inst: 'BTC-USDT-SWAP',
        kind: 'filled',
        side: 'buy',
        size: 10,
        filledSize: 10,
        fill: { price: 100, size: 10, fee: -0.5 },
        venueTs: t0 + 30_000,
        receivedAt: Date.now(),
      },
      { eventTime: t0 + 30_000 },
    );
    await nats.bus.publish(CandleContract, subj, candle(1, 110), { time: 3_000, eventTime: t0 + 120_000 });
    await eventually(() => summary.fills === 1 && summary.lastClose.get('BTC-USDT-SWAP') === 110);
    // 10 contracts × 0.01 × (110 − 100) = 1 USDT unrealised, minus the 0.5 fee.
    expect(summary.pnl().total).toBeCloseTo(0.5, 10);
    const report = summary.closingReport();
    summary.stop();
    expect(report).toContain('BTC-USDT-SWAP: position 10 ct (0.1 base) @ 100');
    expect(report).toContain('BTC-USDT-SWAP 1m, 2 bars 2016-01-01 00:00:00 → 2016-01-01 00:01:00 (market time), capital 1000.00:');
    expect(report).toMatch(/return 0\.05% \(buy and hold 10\.00%\)/);
    expect(lines.some((l) => l.includes('fill     [2016-01-01 00:00:30] BTC-USDT-SWAP buy 10 ct (0.1 base) @ 100 (fee 0.500)'))).toBe(true);
    // The span is market time (two closes a minute apart), replayed in two seconds of wall time.
    expect(report).toContain('market time 2016-01-01 00:01:00 → 2016-01-01 00:02:00 (60 s), in 2 s of wall time, 30× real time');
  });
});
