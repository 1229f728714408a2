import { eventually } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanSummary } from '../src/index.js';
import {
  eventOf,
  type Fixture,
  intentOf,
  type OrderPath,
  orderPlan,
  sendIntent,
  startFixture,
  startOrderPath,
  verdictOf,
  verdicts,
} from './support.js';

/** The executor runs throughout; guards come and go. */
let f: Fixture;
let nats: Fixture['nats'];
let sim: OkxSimulator;
let port: number;

beforeAll(async () => {
  const replicas = {
    orderRate: '{ perMinute: 5, perHour: 100 }',
    requireTradeableForecast: 'false',
    maxOpenOrders: '50',
    priceBand: '0.5',
  };
  f = await startFixture(
    [
      orderPlan('midday', { maxDailyLoss: '1', orderRate: '{ perMinute: 2, perHour: 100 }', requireTradeableForecast: 'false' }),
      orderPlan('replicas', replicas),
    ],
    { kinds: ['executor'] },
  );
  ({ nats, sim, port } = f);
});

afterAll(() => f?.stop());

async function decide(plan: string, fields: Parameters<typeof intentOf>[1] = {}) {
  const intent = intentOf(plan, fields);
  await sendIntent(nats.bus, intent);
  return { intent, verdict: await verdictOf(nats.bus, intent.clientOrderId) };
}

async function filled(plan: string, fields: Parameters<typeof intentOf>[1]) {
  const { intent, verdict } = await decide(plan, fields);
  expect(verdict.decision).toBe('approve');
  await eventOf(nats.bus, intent.clientOrderId, 'accepted');
  sim.step();
  await eventOf(nats.bus, intent.clientOrderId, 'filled');
}

const summary = (guard: OrderPath, plan: string) =>
  (guard.status('risk-guard')?.detail.plans as PlanSummary[] | undefined)?.find((p) => p.plan === plan);

describe('the risk guard after a restart', () => {
  it('keeps the day’s loss and the order rate it had used: both are rebuilt from ORDERS', async () => {
    let guard = await startOrderPath(nats.bus, port, ['risk-guard']);
    // Two approvals in this minute (the limit), and fees of 2 + 1 contracts: a loss of 1.29 against a limit of 1.
    await filled('midday', { size: 2 });
    await filled('midday', { side: 'sell', size: 1, reduceOnly: true });
    expect((await decide('midday')).verdict).toMatchObject({ reason: 'DAILY_LOSS', limit: 1, value: '1.29' });
    expect((await decide('midday', { side: 'sell', reduceOnly: true })).verdict).toMatchObject({
      reason: 'RATE_PER_MINUTE',
      limit: 2,
      value: 2,
    });
    await guard.stop();

    guard = await startOrderPath(nats.bus, port, ['risk-guard']);
    try {
      expect((await decide('midday')).verdict).toMatchObject({ reason: 'DAILY_LOSS', limit: 1, value: '1.29' });
      expect((await decide('midday', { side: 'sell', reduceOnly: true })).verdict).toMatchObject({
        reason: 'RATE_PER_MINUTE',
        limit: 2,
        value: 2,
      });
      await eventually(() => summary(guard, 'midday')?.pnl !== undefined);
      expect(summary(guard, 'midday')).toMatchObject({
        positions: [{ inst: 'BTC-USDT-SWAP', qty: 1, avgPrice: 43_000 }],
        approvedLastMinute: 2,
        openOrders: 0,
        fills: 2,
        pnl: { daily: -1.29, realized: 0, fees: 1.29 },
      });
    } finally {
      await guard.stop();
    }
  });

  it('two replicas decide one intent at a time: together they approve no more than the rate allows', async () => {
    const guards = [await startOrderPath(nats.bus, port, ['risk-guard']), await startOrderPath(nats.bus, port, ['risk-guard'])];
    try {
      const intents = Array.from({ length: 12 }, () => intentOf('replicas', { type: 'limit', price: 30_000 }));
      await Promise.all(intents.map((i) => sendIntent(nats.bus, i)));
      const ids = new Set(intents.map((i) => i.clientOrderId));
      await eventually(async () => (await verdicts(nats.bus)).filter((v) => ids.has(v.clientOrderId)).length === intents.length);
      const mine = (await verdicts(nats.bus)).filter((v) => ids.has(v.clientOrderId));
      expect(mine.filter((v) => v.decision === 'approve')).toHaveLength(5);
      expect(mine.filter((v) => v.reason === 'RATE_PER_MINUTE')).toHaveLength(7);
      // Every intent was decided once, by one replica or the other.
      const decided = guards.map((g) => {
        const t = g.status('risk-guard')?.detail.totals as { approved: number; denied: number };
        return t.approved + t.denied;
      });
      expect(decided.reduce((a, b) => a + b, 0)).toBe(intents.length);
    } finally {
      for (const g of guards) await g.stop();
    }
  });
});
