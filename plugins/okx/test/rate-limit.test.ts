import { syntheticCandles } from '@kokex/plugin-okx-sim';
import { describe, expect, it } from 'vitest';
import { OkxApiError, OkxEndpoints, OkxRateLimiter, quotaBucketKey } from '../src/index.js';
import { startSim } from './helpers.js';

/** A clock that only moves when told to; sleeping advances it. */
function manualClock() {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

describe('OkxRateLimiter', () => {
  const quota = { limit: 20, windowMs: 2000, keyBy: 'ip' as const };

  it('lets a full bucket through, then spaces calls at the refill rate', () => {
    const clock = manualClock();
    const limiter = new OkxRateLimiter({ safetyFactor: 1, clock });
    const waits = Array.from({ length: 23 }, () => limiter.reserve('history', quota));
    expect(waits.slice(0, 20).every((w) => w === 0)).toBe(true);
    expect(waits.slice(20)).toEqual([100, 200, 300]);
    clock.advance(2000);
    expect(limiter.reserve('history', quota)).toBe(0);
  });

  it('keeps a safety margin below the venue quota by default', () => {
    const limiter = new OkxRateLimiter({ clock: manualClock() });
    const waits = Array.from({ length: 20 }, () => limiter.reserve('k', quota));
    expect(waits.filter((w) => w > 0)).toHaveLength(2);
  });

  it('keys per instrument where OKX does (place order) and per endpoint elsewhere', () => {
    expect(quotaBucketKey(OkxEndpoints.placeOrder, { instId: 'BTC-USDT' })).not.toBe(
      quotaBucketKey(OkxEndpoints.placeOrder, { instId: 'ETH-USDT' }),
    );
    expect(quotaBucketKey(OkxEndpoints.historyCandles, { instId: 'BTC-USDT' })).toBe(
      quotaBucketKey(OkxEndpoints.historyCandles, { instId: 'ETH-USDT' }),
    );
    const clock = manualClock();
    const limiter = new OkxRateLimiter({ safetyFactor: 1, clock });
    const q = OkxEndpoints.placeOrder.quota;
    for (let i = 0; i < 60; i++) limiter.reserve('placeOrder:BTC-USDT', q);
    expect(limiter.reserve('placeOrder:BTC-USDT', q)).toBeGreaterThan(0);
    expect(limiter.reserve('placeOrder:ETH-USDT', q)).toBe(0);
  });

  it('makes acquire() sleep for the reserved time', async () => {
    const clock = manualClock();
    const limiter = new OkxRateLimiter({ safetyFactor: 1, clock });
    for (let i = 0; i < 21; i++) await limiter.acquire('k', quota);
    expect(clock.slept).toEqual([100]);
  });
});

describe('rate limiting against the simulator (which enforces OKX quotas)', () => {
  it('with the limiter a burst over the quota never sees 50011; without it, OKX answers 50011', async () => {
    const h = await startSim({ data: syntheticCandles({ count: 400 }), startAt: syntheticCandles({ count: 400 })[300]?.ts });
    try {
      const burst = (rest: ReturnType<typeof h.rest>, n: number) =>
        Promise.allSettled(Array.from({ length: n }, () => rest.getHistoryCandles({ instId: 'BTC-USDT', limit: 1 })));
      const limited = await burst(h.rest(), 24);
      expect(limited.every((r) => r.status === 'fulfilled')).toBe(true);

      await new Promise((r) => setTimeout(r, 2100)); // let the simulator's bucket refill
      const unlimited = await burst(h.rest({ rateLimit: false, maxRetries: 0 }), 40);
      const rejected = unlimited.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.length).toBeGreaterThan(0);
      const err = rejected[0]?.reason as OkxApiError;
      expect(err).toBeInstanceOf(OkxApiError);
      expect(err).toMatchObject({ okxCode: '50011', httpStatus: 429, retryable: true });
    } finally {
      await h.stop();
    }
  });
});
