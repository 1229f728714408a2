import { applyPlan, CandleContract, deletePlan, subjectFilter } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import { describe, expect, it } from 'vitest';
import { MIN, minuteBars, pipelineSuite, seriesShape, startPipeline, testPlan } from './support.js';

const suite = pipelineSuite(async (bus) => {
  for (const name of ['plans-5m', 'refused']) await deletePlan(bus, name);
});

describe('feed actor against the OKX simulator', () => {
  it('backfills the plan window, then streams closed bars to the raw inbox (MD_RAW) and forming ones on core NATS', async () => {
    const { bars } = await minuteBars(700);
    const live: Array<{ ts: number; confirmed: boolean }> = [];
    const sub = suite.bus.nc.subscribe(subjectFilter('live', { venue: 'okx', inst: 'FEED-USDT' }));
    void (async () => {
      for await (const m of sub) live.push(CandleContract.decode(m.data).data);
    })();
    const pipeline = suite.use(
      await startPipeline({
        bus: suite.bus,
        inst: 'FEED-USDT',
        bars,
        historyBars: 120,
        withValidator: false,
        contextTimeframes: ['1H'],
      }),
    );
    await pipeline.replay(300);
    await pipeline.stored(420);
    const shape = await seriesShape(suite.bus, pipeline.key, pipeline.family);
    expect(shape).toMatchObject({ count: 420, messages: 420, unique: 420, gaps: 0, first: pipeline.startAt - 120 * MIN });
    expect(shape.last).toBe(pipeline.startAt + 299 * MIN);
    // The stored bars are the venue's bars.
    const byTs = new Map(bars.map((b) => [b.ts, b]));
    for (const c of shape.candles)
      expect([c.open, c.high, c.low, c.close]).toEqual([
        byTs.get(c.ts)?.open,
        byTs.get(c.ts)?.high,
        byTs.get(c.ts)?.low,
        byTs.get(c.ts)?.close,
      ]);
    // The context timeframe streams too.
    const hours = await seriesShape(suite.bus, { ...pipeline.key, tf: '1H' }, pipeline.family);
    expect(hours.count).toBeGreaterThanOrEqual(6);
    expect(hours.gaps).toBe(0);
    expect(live.length).toBeGreaterThan(300);
    expect(live.every((c) => c.confirmed === false)).toBe(true);
    sub.unsubscribe();
  });

  it('follows plan changes in place: a new timeframe is subscribed and caught up, a removed one dropped', async () => {
    const { bars } = await minuteBars(400);
    const p = suite.use(await startPipeline({ bus: suite.bus, inst: 'PLANS-USDT', bars, historyBars: 60, withValidator: false }));
    const feedId = p.host.instances().find((i) => i.kind === 'feed')?.instanceId;
    await applyPlan(suite.bus, testPlan('plans-5m', 'PLANS-USDT', '2h', '1h', '5m'), 'test');
    // The new series is live (subscribed and caught up) before the market moves on.
    await eventually(() =>
      (p.feedDetail().series as unknown as Array<{ id: string; state: string }>).some((s) => s.id.endsWith(':5m') && s.state === 'live'),
    );
    await p.replay(30);
    await eventually(async () => (await seriesShape(suite.bus, { ...p.key, tf: '5m' }, p.family)).count >= 12 + 6);
    const fiveMinutes = await seriesShape(suite.bus, { ...p.key, tf: '5m' }, p.family);
    expect(fiveMinutes.gaps).toBe(0);
    expect(p.host.instances().find((i) => i.kind === 'feed')?.instanceId).toBe(feedId);
    await deletePlan(suite.bus, 'plans-5m');
    await eventually(() => p.feedDetail().series.length === 1);
    expect(p.feed().state).toBe('running');
  });

  it('reports a subscription the venue refuses in its status, keeps trying, and keeps running', async () => {
    const { bars } = await minuteBars(200);
    const p = suite.use(await startPipeline({ bus: suite.bus, inst: 'GOOD-USDT', bars, historyBars: 30, withValidator: false }));
    await applyPlan(suite.bus, testPlan('refused', 'NOPE-USDT', '1h', '1h'), 'test');
    await eventually(() => {
      const [venue] = p.feedDetail().venues;
      return venue?.state === 'partly failed' && /60018/.test(venue.problems?.['okx:NOPE-USDT:1m'] ?? '');
    });
    // The good series is not held back by the bad one.
    await p.replay(5);
    await p.stored(35);
    expect(p.feedDetail().errors).toMatchObject({ OKX_WS_SUBSCRIBE: expect.any(Number) });
    expect(p.feed()).toMatchObject({ state: 'running', attempts: 0 });
    await deletePlan(suite.bus, 'refused');
    await eventually(() => p.feedDetail().venues.every((v) => v.state === 'subscribed'));
  });
});
