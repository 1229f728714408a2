import { applyTradingCommand, initialControl, OrderVerdictContract, subjectFilter, writeControl } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, intentOf, marketTime, orderPlan, PRICE, sendIntent, startFixture } from './support.js';

/**
 * Issue 12 finding 8: a halt takes effect before any queued intent is judged. The guard learns of
 * the kill switch on its own watch of the control record, not in the intents' queue, and reads it
 * when it judges each intent; with hundreds of intents waiting, at most the one being judged when
 * the halt lands (and, on a loaded machine, a couple more) gets another verdict, and every later
 * one is KILL_SWITCH. The latency figure is the bench's (`scripts/bench/guard.ts`).
 */
let f: Fixture;

beforeAll(async () => {
  const limits = { requireTradeableForecast: 'false', maxOpenOrders: '1000', orderRate: '{ perMinute: 10000, perHour: 600000 }' };
  f = await startFixture([orderPlan('queued', { ...limits, maxPositionNotional: '1000000000' })], { kinds: ['risk-guard'] });
}, 60_000);
afterAll(() => f?.stop());

describe('the kill switch', () => {
  it('stops every intent still queued when it is thrown', async () => {
    const heard: string[] = [];
    const sub = f.bus.nc.subscribe(subjectFilter('orderVerdict', { plan: 'queued' }), {
      callback: (_e, m) => {
        heard.push(OrderVerdictContract.decode(m.data).data.reason);
      },
    });
    try {
      const intents = Array.from({ length: 300 }, () => intentOf('queued', { type: 'limit', price: PRICE * 0.99 }));
      await Promise.all(intents.map((i) => sendIntent(f.bus, i)));
      await eventually(() => heard.length >= 3, 30_000);
      const before = heard.length;
      const halt = applyTradingCommand(initialControl('active', marketTime()), 'halt', 'test', 'queue jump', marketTime());
      if (!halt) throw new Error('halt refused');
      await writeControl(f.bus, 'queued', halt);
      await eventually(() => heard.length >= intents.length, 60_000);
      const first = heard.indexOf('KILL_SWITCH');
      expect(first).toBeGreaterThanOrEqual(before);
      expect(intents.length - before).toBeGreaterThan(200);
      // Judged after the halt was written, before the first KILL_SWITCH: the one in flight, at most a couple more.
      expect(first - before).toBeLessThanOrEqual(3);
      expect(heard.slice(first).every((r) => r === 'KILL_SWITCH')).toBe(true);
      expect(heard.slice(0, first).every((r) => r === 'OK')).toBe(true);
    } finally {
      sub.unsubscribe();
    }
  }, 120_000);
});
