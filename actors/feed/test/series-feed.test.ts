import { type Candle, type MarketDataAdapter, storedCandles, systemClock } from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import { describe, expect, it } from 'vitest';
import { SeriesFeed } from '../src/series-feed.js';
import { pipelineSuite } from './support.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const bar = (i: number): Candle => {
  const close = 100 + (i % 7);
  return { venue: 'okx', inst: 'RACE-USDT', tf: '1m', ts: T0 + i * MIN, open: 100, high: Math.max(100, close) + 1, low: 99, close, volume: 5, confirmed: true };
};

describe('series feed', () => {
  const suite = pipelineSuite();

  it('holds a closed bar pushed while the series is still subscribing, so the catch-up still fetches the window before it', async () => {
    const series = { venue: 'okx', mode: 'sim', inst: 'RACE-USDT', tf: '1m', windowMs: 30 * MIN, scanEveryMs: 60_000 };
    const feed = new SeriesFeed(series, {
      bus: suite.bus,
      log: captureLogger('error').log,
      clock: systemClock,
      source: 'feed-test',
      retryMs: 50,
      firstPushWaitMs: 1000,
      noteError: () => undefined,
    });
    // The venue's window: bars 0..39 closed, bar 40 forming. History is served from `since` on.
    const history = Array.from({ length: 40 }, (_, i) => bar(i));
    const adapter = {
      venue: 'okx',
      async *candleHistory(q: { since?: number }) {
        yield history.filter((c) => q.since === undefined || c.ts >= q.since);
      },
    } as unknown as MarketDataAdapter;
    feed.adapter = adapter;
    // The venue pushes the bar that just closed before it acknowledges the subscription (a socket
    // shared with other series, or a push that overtakes the acknowledgement).
    feed.start(async () => {
      feed.onCandle({ ...bar(40), confirmed: false });
      feed.onCandle(bar(39));
    });
    await eventually(() => feed.state === 'live');
    await eventually(async () => (await storedCandles(suite.bus, series, 'rawCandle')).length >= 30);
    const stored = await storedCandles(suite.bus, series, 'rawCandle');
    const times = stored.map((c) => c.ts);
    // The plan's window (30 minutes back from the venue's bar 40) is there in full and in order.
    expect(times[0]).toBe(bar(10).ts);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
    expect(times.at(-1)).toBe(bar(39).ts);
    expect(times).toHaveLength(30);
    await feed.stop();
  });
});
