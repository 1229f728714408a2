import { type Bus, CandleContract, EventMarketClock, type MarketClock, subject, wallMarketClock } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketView } from '../src/index.js';
import {
  BAR,
  type Fixture,
  intentOf,
  marketTime,
  orderPlan,
  PRICE,
  publishCandle,
  publishForecast,
  SWAP,
  sendIntent,
  startFixture,
  verdictOf,
} from './support.js';

/**
 * Issue 12, finding 1: the guard trusted times and prices set by the sender. One core-NATS
 * candle with close 0.0001 and an envelope time ten years ahead fixed the guard's price (and it
 * approved 5,000 contracts against maxNotional 1,000); one stored candle dated in the future made
 * every later intent STALE_MARKET_DATA. Here the same attacks, on the guard in a host and on its
 * market view alone (live, where the wall clock is market time).
 */
const MIN = 60_000;
const TEN_YEARS = 10 * 365 * 86_400_000;

/** A candle published the way an attacker with publish rights would, `stored` on MD_CANDLES or only on core NATS. */
async function forge(bus: Bus, o: { subj?: string; ts: number; eventTime: number; close: number; core?: boolean }) {
  const c = {
    venue: 'okx',
    inst: SWAP,
    tf: '1m',
    ts: o.ts,
    open: o.close,
    high: o.close,
    low: o.close,
    close: o.close,
    volume: 1,
    confirmed: true,
  };
  const subj = o.subj ?? subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' });
  if (o.core) {
    // A plain publish on a subject no stream stores: subscribers get it, a stream read never does.
    const { bytes } = CandleContract.encode(c, { eventTime: o.eventTime, time: o.eventTime });
    bus.nc.publish(subj, bytes);
    await bus.nc.flush();
    return;
  }
  await bus.publish(CandleContract, subj, c, {
    eventTime: o.eventTime,
    time: o.eventTime,
    id: `forged:${o.ts}:${o.close}:${o.eventTime}:${Math.random()}`,
  });
}

describe('the guard in a host believes only validated, believable market data', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture([orderPlan('victim')], { prepare: async (bus) => void (await publishForecast(bus, true)) });
  }, 60_000);
  afterAll(() => f?.stop());

  const notionalOf = async (size: number) => {
    const intent = intentOf('victim', { size });
    await sendIntent(f.bus, intent);
    return verdictOf(f.bus, intent.clientOrderId);
  };

  it('keeps its price and its clock after a forged live bar, a forged stored candle and a forged forecast, ten years ahead at 0.0001', async () => {
    const now = marketTime();
    // The attack: an in-progress (core NATS, never stored) bar, close 0.0001, ten years ahead.
    await forge(f.bus, {
      subj: subject('live', { venue: 'okx', inst: SWAP, tf: '1m' }),
      ts: now + TEN_YEARS,
      eventTime: now + TEN_YEARS,
      close: 0.0001,
      core: true,
    });
    // The same as a closed candle, which MD_CANDLES stores (an embedded server without users lets anyone publish).
    await forge(f.bus, { ts: now + TEN_YEARS, eventTime: now + TEN_YEARS, close: 0.0001 });
    // A bar dated ten years ahead under an ordinary envelope time, and a 0.0001 close at the market's time.
    await forge(f.bus, { ts: now + TEN_YEARS, eventTime: now, close: PRICE });
    await forge(f.bus, { ts: BAR, eventTime: now, close: 0.0001 });
    // A forecast that saw a bar ten years ahead, not tradeable: were it believed, it would be the latest.
    await publishForecast(f.bus, false, { asOf: now + TEN_YEARS });

    // 3 contracts at 43,000 × 0.01 = 1,290 notional: still MAX_NOTIONAL at the real price (at 0.0001 it would pass).
    expect(await notionalOf(3)).toMatchObject({ decision: 'deny', reason: 'MAX_NOTIONAL', value: '1290' });
    // 5,000 contracts: denied, as it should have been in the issue.
    expect(await notionalOf(5000)).toMatchObject({ decision: 'deny', reason: 'MAX_NOTIONAL' });
    // And the market is neither stale nor untradeable: one contract passes, now and a minute later.
    expect(await notionalOf(1)).toMatchObject({ decision: 'approve', reason: 'OK' });
    await publishCandle(f.bus, { ts: BAR + MIN, eventTime: now + MIN });
    expect(await notionalOf(1)).toMatchObject({ decision: 'approve', reason: 'OK' });
    const totals = f.path.status('risk-guard')?.detail.totals as { market: Record<string, number> };
    expect(totals.market.futureForecasts).toBeGreaterThanOrEqual(1);
    expect(totals.market.heldBack).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('believes a large move once the next candle confirms it', async () => {
    const now = marketTime();
    const moved = PRICE * 1.3;
    await publishCandle(f.bus, { ts: BAR + 2 * MIN, eventTime: now + MIN, close: moved });
    // Held back: the notional is still at the old price (2 × 430 = 860: approved; at the new, 1,118: denied).
    expect(await notionalOf(2)).toMatchObject({ decision: 'approve' });
    await publishCandle(f.bus, { ts: BAR + 3 * MIN, eventTime: now + 2 * MIN, close: moved });
    expect(await notionalOf(2)).toMatchObject({ decision: 'deny', reason: 'MAX_NOTIONAL', value: '1118' });
  }, 60_000);

  it('believes a jump at once when the venue’s own ticker quotes it, and not a forged one it does not', async () => {
    // The guard believes 1.3 × PRICE now; the simulator quotes PRICE (its bars are flat at PRICE).
    // Three contracts are over maxNotional at either price; the verdict's value says which price it saw.
    const now = marketTime();
    expect(await notionalOf(3)).toMatchObject({ reason: 'MAX_NOTIONAL', value: '1677' });
    await publishCandle(f.bus, { ts: BAR + 4 * MIN, eventTime: now + MIN, close: PRICE });
    // −23 %: held back, but the venue's ticker quotes PRICE, so the next decision believes it.
    expect(await notionalOf(3)).toMatchObject({ reason: 'MAX_NOTIONAL', value: '1290' });
    // Ten times the price, stored: the venue does not quote it, so it stays held.
    await forge(f.bus, { ts: BAR + 5 * MIN, eventTime: now + 2 * MIN, close: PRICE * 10 });
    expect(await notionalOf(3)).toMatchObject({ reason: 'MAX_NOTIONAL', value: '1290' });
    const totals = f.path.status('risk-guard')?.detail.totals as { market: Record<string, number> };
    expect(totals.market.confirmedByVenue).toBe(1);
  }, 60_000);
});

describe('the market view, live: the wall clock is market time', () => {
  let nats: TestNats;
  let view: MarketView;
  const wall: MarketClock = wallMarketClock();
  const wallNow = () => wall.now() as number;
  const lastClosed = () => Math.floor(wallNow() / MIN) * MIN - MIN;

  beforeAll(async () => {
    nats = await startTestNats();
    view = new MarketView(nats.bus, captureLogger('error').log, { clocksOf: () => [wall], futureToleranceMs: 5000, maxPriceMove: 0.2 });
    await forge(nats.bus, { ts: lastClosed() - MIN, eventTime: lastClosed(), close: PRICE });
    await view.load([{ venue: 'okx', inst: SWAP, tf: '1m' }]);
    view.start();
  }, 30_000);
  afterAll(async () => {
    view?.stop();
    await nats?.stop();
  });

  it('ignores for good a candle whose bar or time is in the future, and keeps its price and data age', async () => {
    expect(view.price('okx', SWAP)).toBe(PRICE);
    await forge(nats.bus, { ts: wallNow() + TEN_YEARS, eventTime: wallNow() + TEN_YEARS, close: 0.0001 });
    await forge(nats.bus, { ts: wallNow() + TEN_YEARS, eventTime: wallNow(), close: PRICE });
    await forge(nats.bus, { ts: wallNow() + TEN_YEARS, eventTime: wallNow(), close: PRICE });
    await view.catchUp();
    expect(view.refused.futureCandles).toBe(3);
    expect(view.price('okx', SWAP)).toBe(PRICE);
    // The next real bar is believed: the data is fresh, not pinned ten years ahead.
    await forge(nats.bus, { ts: lastClosed(), eventTime: lastClosed() + MIN, close: PRICE * 1.01 });
    await eventually(() => view.price('okx', SWAP) === PRICE * 1.01, 10_000);
    expect(view.snapshot({ venue: 'okx', inst: SWAP, tf: '1m' }, wallNow())?.ageBars).toBeLessThan(1.5);
  });

  it('reads no payload from core NATS: a candle the stream did not store is never believed', async () => {
    const before = view.price('okx', SWAP);
    await forge(nats.bus, {
      subj: subject('live', { venue: 'okx', inst: SWAP, tf: '1m' }),
      ts: lastClosed(),
      eventTime: lastClosed() + MIN,
      close: 0.0001,
      core: true,
    });
    await view.catchUp();
    expect(view.price('okx', SWAP)).toBe(before);
  });
});

describe('the market view in a replay: the data is the clock', () => {
  it('holds a jump ahead until the next candle continues from it', async () => {
    const nats = await startTestNats();
    try {
      const clock = new EventMarketClock();
      const view = new MarketView(nats.bus, captureLogger('error').log, {
        clocksOf: () => [clock],
        futureToleranceMs: 5000,
        maxPriceMove: 0.2,
      });
      await view.load([{ venue: 'okx', inst: SWAP, tf: '1m' }]);
      view.start();
      await forge(nats.bus, { ts: BAR, eventTime: BAR + MIN, close: PRICE });
      await view.catchUp();
      expect(clock.now()).toBe(BAR + MIN);
      // Ten years ahead, once: held, the clock stays.
      await forge(nats.bus, { ts: BAR + TEN_YEARS, eventTime: BAR + TEN_YEARS + MIN, close: PRICE });
      await forge(nats.bus, { ts: BAR + MIN, eventTime: BAR + 2 * MIN, close: PRICE });
      await view.catchUp();
      expect(clock.now()).toBe(BAR + 2 * MIN);
      // A replay that skipped an hour: the second candle confirms the first.
      await forge(nats.bus, { ts: BAR + 60 * MIN, eventTime: BAR + 61 * MIN, close: PRICE });
      await view.catchUp();
      expect(clock.now()).toBe(BAR + 2 * MIN);
      await forge(nats.bus, { ts: BAR + 61 * MIN, eventTime: BAR + 62 * MIN, close: PRICE });
      await view.catchUp();
      expect(clock.now()).toBe(BAR + 62 * MIN);
      expect(view.refused).toMatchObject({ heldBack: 2, confirmed: 1 });
      view.stop();
    } finally {
      await nats.stop();
    }
  });
});
