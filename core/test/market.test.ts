import { describe, expect, it } from 'vitest';
import {
  aggregateBars,
  CandleContract,
  candleProblems,
  candleSchema,
  canAggregate,
  type OhlcvBar,
  parsePlan,
  problemFaults,
  sameBar,
  seriesFromPlans,
  seriesId,
} from '../src/index.js';

// Moved from plugins/candles/test/data.test.ts with the helpers (issue 10 item 2): same assertions.
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const minutes = (count: number, from = T0): OhlcvBar[] =>
  Array.from({ length: count }, (_, i) => ({ ts: from + i * MIN, open: 100 + i, high: 101 + i, low: 99 + i, close: 100.5 + i, volume: 1 }));

describe('aggregation', () => {
  it('rolls minutes up into longer bars, leaving out a bar the data covers only in part', () => {
    const bars = aggregateBars(minutes(130, T0 + 5 * MIN), MIN, '1H');
    expect(bars).toEqual([{ ts: T0 + 60 * MIN, open: 155, high: 101 + 114, low: 99 + 55, close: 100.5 + 114, volume: 60 }]);
    expect(canAggregate('1m', '1H')).toBe(true);
    expect(canAggregate('1H', '1D')).toBe(true);
    expect(canAggregate('5m', '1Mutc')).toBe(true);
    expect(canAggregate('1Dutc', '1D')).toBe(false);
    expect(canAggregate('1H', '1m')).toBe(false);
  });
});

describe('candle checks', () => {
  const good = { venue: 'okx', inst: 'BTC-USDT', tf: '1H', ts: T0, open: 10, high: 12, low: 9, close: 11, volume: 1, confirmed: true };
  const key = { venue: 'okx', inst: 'BTC-USDT', tf: '1H' };
  const faults = (c: unknown) => candleProblems(c, key).map((p) => p.fault);

  it('names every problem of a bar', () => {
    expect(faults(good)).toEqual([]);
    expect(faults({ ...good, high: 10.5 })).toEqual(['ohlc']);
    expect(faults({ ...good, low: 10.5 })).toEqual(['ohlc']);
    expect(faults({ ...good, volume: -1 })).toEqual(['volume']);
    expect(faults({ ...good, ts: T0 + 60_000 })).toEqual(['alignment']);
    expect(faults({ ...good, confirmed: false })).toEqual(['unconfirmed']);
    expect(faults({ ...good, inst: 'ETH-USDT' })).toEqual(['subject']);
    expect(faults({ ...good, open: 0, low: 0 })).toEqual(['schema', 'schema']);
    expect(faults('nope')).toEqual(['schema']);
  });
});

describe('series from plans', () => {
  const plan = (name: string, inst: string, tf: string, window: string) =>
    parsePlan(
      `apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: ${name} }\nspec:\n  venue: { name: okx, mode: sim }\n  instrument: ${inst}\n  timeframe: ${tf}\n  data: { window: ${window}, scanEvery: 1h }\n  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }\n`,
      `${name}.yaml`,
    );

  it('lists each plan instrument at its timeframe and the context ones, once, with the widest window', () => {
    const series = seriesFromPlans([plan('a', 'BTC-USDT', '1m', '2d'), plan('b', 'BTC-USDT', '1H', '7d')], ['1H']);
    expect(series.map((s) => [s.inst, s.tf, s.windowMs / 86_400_000, s.scanEveryMs / 3_600_000])).toEqual([
      ['BTC-USDT', '1m', 2, 1],
      ['BTC-USDT', '1H', 7, 1],
    ]);
  });
});

describe('one candle check for the schema, the venue parsers and the validator', () => {
  const good = { venue: 'okx', inst: 'BTC-USDT', tf: '1H', ts: T0, open: 10, high: 12, low: 9, close: 11, volume: 1, confirmed: true };

  it('is what candleSchema refines with (level fields): a bar it refuses there does not decode as md.candle', () => {
    const badFields = [
      { ...good, open: 0 },
      { ...good, volume: -1 },
      { ...good, volumeQuote: -2 },
      { ...good, ts: -1 },
      { ...good, ts: 1.5 },
      { ...good, receivedAt: 0.5 },
    ];
    for (const bar of badFields) {
      expect(candleProblems(bar, undefined, { level: 'fields' }).length).toBeGreaterThan(0);
      expect(candleSchema.safeParse(bar).success).toBe(false);
      expect(() => CandleContract.encode(bar as never)).toThrow(/md\.candle/);
    }
    const refused = candleSchema.safeParse({ ...good, volume: -1 });
    expect(refused.success === false && refused.error.issues.map((i) => i.path.join('.'))).toEqual(['volume']);
  });

  it('adds consistent prices at level bar (venue parsers), confirmed and the bar grid at level closed (the validator)', () => {
    const inconsistent = [
      { ...good, high: 8 },
      { ...good, low: 11.5 },
    ];
    for (const bar of inconsistent) {
      expect(candleProblems(bar, undefined, { level: 'fields' })).toEqual([]);
      expect(problemFaults(candleProblems(bar, undefined, { level: 'bar' }))).toEqual(['ohlc']);
      expect(problemFaults(candleProblems(bar))).toEqual(['ohlc']);
    }
    // Forming bars and bars off the grid are md.candle messages and venue bars; only the validated path refuses them.
    for (const bar of [good, { ...good, confirmed: false }, { ...good, ts: T0 + 60_000 }]) {
      expect(candleProblems(bar, undefined, { level: 'bar' })).toEqual([]);
      expect(candleSchema.safeParse(bar).success).toBe(true);
    }
    expect(problemFaults(candleProblems({ ...good, ts: T0 + 60_000, confirmed: false }))).toEqual(['unconfirmed', 'alignment']);
  });

  it('names a NaN price (null on the wire) as a schema fault and skips the OHLC rules it cannot apply', () => {
    const wire = JSON.parse(JSON.stringify({ ...good, close: Number.NaN }));
    expect(wire.close).toBeNull();
    expect(candleProblems(wire).map((p) => [p.fault, p.field])).toEqual([['schema', 'close']]);
  });

  it('tells a repeated bar from one with other prices', () => {
    expect(sameBar(good, { ...good })).toBe(true);
    expect(sameBar(good, { ...good, receivedAt: 5 })).toBe(true);
    expect(sameBar(good, { ...good, close: 11.5 })).toBe(false);
    expect(sameBar(good, { ...good, volume: 2 })).toBe(false);
  });

  it('names a series as one string', () => {
    expect(seriesId({ venue: 'okx', inst: 'BTC-USDT', tf: '1H' })).toBe('okx:BTC-USDT:1H');
  });
});
