import type { OrderVerdict } from '@kokex/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAR, type Fixture, intentOf, orderPlan, PRICE, publishCandle, sendIntent, startFixture, verdictOf } from './support.js';

/**
 * Issue 11, item 2 for the guard: its rates count market minutes, not wall minutes. The same
 * intents at market minutes 0, 1, 2 … (each acting on that minute's candle, as the agent's
 * intents inherit their forecast's market time) get the same verdicts whether they arrive 1 s
 * apart (a 60× replay) or 10 ms apart (as fast as the bus goes), and those verdicts are what a
 * live run at 1× would give: one order a minute passes a limit of two a minute; the third order
 * inside one market minute is the only RATE_PER_MINUTE.
 */
const MIN = 60_000;
let f: Fixture;

beforeAll(async () => {
  // A long intent TTL: at 10 ms apart the guard may judge an intent after later candles arrived.
  const limits = {
    orderRate: '{ perMinute: 2, perHour: 100 }',
    maxOpenOrders: '50',
    maxPositionNotional: '10000',
    intentTtl: '1h',
    requireTradeableForecast: 'false',
  };
  f = await startFixture([orderPlan('slow', limits), orderPlan('fast', limits)], { kinds: ['risk-guard'] });
}, 60_000);

afterAll(() => f?.stop());

/** Seven minutes of one order each, then two more in the seventh minute (10 s and 20 s in). */
const SCHEDULE = [0, 1, 2, 3, 4, 5, 6].map((m) => m * MIN).concat([6 * MIN + 10_000, 6 * MIN + 20_000]);

async function replay(plan: string, start: number, spacingMs: number): Promise<Array<Pick<OrderVerdict, 'decision' | 'reason'>>> {
  const ids: string[] = [];
  for (const offset of SCHEDULE) {
    const t = start + offset;
    const bar = Math.floor(t / MIN) * MIN - MIN;
    // The candle that closed at the minute, then the intent acting on it (its market time).
    await publishCandle(f.bus, { ts: bar, eventTime: bar + MIN });
    const intent = intentOf(plan, { type: 'limit', price: PRICE * 0.99 });
    ids.push(intent.clientOrderId);
    await sendIntent(f.bus, intent, undefined, t);
    await new Promise((r) => setTimeout(r, spacingMs));
  }
  const out: Array<Pick<OrderVerdict, 'decision' | 'reason'>> = [];
  for (const id of ids) {
    const { decision, reason } = await verdictOf(f.bus, id, 1, 30_000);
    out.push({ decision, reason });
  }
  return out;
}

describe('the guard on market time', () => {
  it('gives the same verdicts to the same market minutes, 1 s or 10 ms apart on the wall', async () => {
    // Market time goes on from the fixture's candle (BAR closed at BAR + 1m), minute after minute.
    const slow = await replay('slow', BAR + 2 * MIN, 1000);
    const fast = await replay('fast', BAR + 9 * MIN, 10);
    const expected = [
      ...Array.from({ length: 8 }, () => ({ decision: 'approve', reason: 'OK' })),
      { decision: 'deny', reason: 'RATE_PER_MINUTE' },
    ];
    expect(slow).toEqual(expected);
    expect(fast).toEqual(expected);
  }, 90_000);
});
