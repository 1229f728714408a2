import type { CommandDefinition } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderCommand, ordersCommand, riskCommand } from '../src/index.js';
import {
  eventOf,
  type Fixture,
  intentOf,
  orderPlan,
  PRICE,
  cancelVerdictOf,
  publishForecast,
  SWAP,
  sendCancel,
  sendIntent,
  startFixture,
  verdictOf,
  verdicts,
} from './support.js';

let f: Fixture;
let nats: Fixture['nats'];
let sim: OkxSimulator;

beforeAll(async () => {
  f = await startFixture([
    orderPlan('flow', { requireTradeableForecast: 'false' }),
    orderPlan('closing', { requireTradeableForecast: 'false' }),
    orderPlan('gated'),
    orderPlan('halt', { priceBand: '0.2' }),
  ]);
  ({ nats, sim } = f);
});

afterAll(() => f?.stop());

/** Runs a plugin command as `npx kokex …` would, capturing what it prints. */
async function run(command: CommandDefinition, args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await command.run(args, {
    print: (l) => out.push(l),
    progress: (l) => out.push(l),
    signal: new AbortController().signal,
    env: { NATS_URL: nats.url, USER: 'tester' },
  });
  return { code, out };
}

const simOrders = (clOrdId?: string) => [...(sim.account()?.orders.values() ?? [])].filter((o) => !clOrdId || o.clOrdId === clOrdId);

describe('intent → guard → executor → simulator → order events', () => {
  it('approves a safe market intent, places it by client order id, and reports the fill with its fee', async () => {
    const intent = intentOf('flow', { size: 1.004 });
    await sendIntent(nats.bus, intent);
    const verdict = await verdictOf(nats.bus, intent.clientOrderId);
    expect(verdict).toMatchObject({ decision: 'approve', reason: 'OK', size: 1 });
    await eventOf(nats.bus, intent.clientOrderId, 'accepted');
    expect(simOrders(intent.clientOrderId)).toHaveLength(1);
    sim.step();
    const filled = await eventOf(nats.bus, intent.clientOrderId, 'filled');
    expect(filled).toMatchObject({ plan: 'flow', venue: 'okx', inst: SWAP, filledSize: 1, avgPrice: PRICE });
    expect(filled.fill?.fee).toBeCloseTo(1 * 0.01 * PRICE * 0.001, 8);
  });

  it('judges a reduce-only close after the report of the market order it closes, which the agent may see at the venue first', async () => {
    const open = intentOf('closing');
    await sendIntent(nats.bus, open);
    expect(await verdictOf(nats.bus, open.clientOrderId)).toMatchObject({ decision: 'approve' });
    await eventOf(nats.bus, open.clientOrderId, 'accepted');
    // The close comes while the buy is in flight (accepted, its fill not yet reported): the guard
    // waits for the report instead of judging on a book that still says flat.
    const close = intentOf('closing', { side: 'sell', reduceOnly: true });
    await sendIntent(nats.bus, close);
    await new Promise((r) => setTimeout(r, 300));
    sim.step();
    expect(await verdictOf(nats.bus, close.clientOrderId)).toMatchObject({ decision: 'approve', reason: 'OK' });
    await eventOf(nats.bus, close.clientOrderId, 'accepted');
    sim.step();
    await eventOf(nats.bus, close.clientOrderId, 'filled');
    // With no report coming (a buy the venue has not filled within reduceOnlyWaitMs), the book as
    // read decides: nothing to reduce yet.
    const again = intentOf('closing');
    await sendIntent(nats.bus, again);
    expect(await verdictOf(nats.bus, again.clientOrderId)).toMatchObject({ decision: 'approve' });
    await eventOf(nats.bus, again.clientOrderId, 'accepted');
    const early = intentOf('closing', { side: 'sell', reduceOnly: true });
    await sendIntent(nats.bus, early);
    expect(await verdictOf(nats.bus, early.clientOrderId)).toMatchObject({ decision: 'deny', reason: 'REDUCE_ONLY_WOULD_INCREASE' });
    sim.step();
    await eventOf(nats.bus, again.clientOrderId, 'filled');
  });

  it('denies new risk while the forecast is not tradeable, and lets the same order through once it is', async () => {
    const before = intentOf('gated');
    await sendIntent(nats.bus, before);
    expect(await verdictOf(nats.bus, before.clientOrderId)).toMatchObject({ decision: 'deny', reason: 'FORECAST_MISSING' });
    await publishForecast(nats.bus, false);
    const warming = intentOf('gated');
    await sendIntent(nats.bus, warming);
    expect(await verdictOf(nats.bus, warming.clientOrderId)).toMatchObject({ decision: 'deny', reason: 'FORECAST_NOT_TRADEABLE' });
    // The earlier one saw the bar before; the tradeable one the market's last bar (it is the latest).
    const notTradeable = await publishForecast(nats.bus, false, { asOf: Date.UTC(2026, 0, 5, 1, 59) });
    const tradeable = await publishForecast(nats.bus, true, { asOf: Date.UTC(2026, 0, 5, 2) });
    const ready = intentOf('gated');
    await sendIntent(nats.bus, ready);
    expect(await verdictOf(nats.bus, ready.clientOrderId)).toMatchObject({ decision: 'approve', reason: 'OK' });
    // An intent that names the forecast it acted on is judged against that one, not the latest.
    const onOld = intentOf('gated', { origin: { kind: 'agent', who: 'c1', why: 'acted on the earlier forecast' }, basis: notTradeable });
    await sendIntent(nats.bus, onOld);
    const denied = await verdictOf(nats.bus, onOld.clientOrderId);
    expect(denied).toMatchObject({ decision: 'deny', reason: 'FORECAST_NOT_TRADEABLE' });
    expect(denied.message).toContain(notTradeable.id);
    const onNew = intentOf('gated', { basis: tradeable });
    await sendIntent(nats.bus, onNew);
    expect(await verdictOf(nats.bus, onNew.clientOrderId)).toMatchObject({ decision: 'approve', reason: 'OK' });
  });

  it('holds a limit price to the band around the close of the forecast the intent acted on', async () => {
    // The market is at PRICE; the forecast saw a close 10% lower. A limit 3% under the market is
    // inside the flow plan's band (5%) around the market, and 7.8% from the close the decision saw.
    const basis = await publishForecast(nats.bus, true, { asOf: Date.UTC(2026, 0, 5, 2), lastClose: PRICE * 0.9 });
    const near = intentOf('flow', { type: 'limit', price: PRICE * 0.97, basis });
    await sendIntent(nats.bus, near);
    const verdict = await verdictOf(nats.bus, near.clientOrderId);
    expect(verdict).toMatchObject({ decision: 'deny', reason: 'PRICE_BAND', rule: 'risk.priceBand', limit: 0.05 });
    expect(verdict.message).toContain('of the forecast the intent acted on');
    // The same price without a forecast basis is judged against the last price only, and approved.
    const manual = intentOf('flow', { type: 'limit', price: PRICE * 0.97 });
    await sendIntent(nats.bus, manual);
    expect(await verdictOf(nats.bus, manual.clientOrderId)).toMatchObject({ decision: 'approve' });
    await eventOf(nats.bus, manual.clientOrderId, 'accepted');
    await sendCancel(nats.bus, 'flow', manual.clientOrderId);
    await eventOf(nats.bus, manual.clientOrderId, 'canceled');
  });

  it('kokex order place prints the verdict and the order events; kokex orders shows the book', async () => {
    const placed = run(orderCommand, ['place', 'flow', '--side', 'buy', '--size', '2', '--id', 'cliorder1', '--follow', '10s']);
    await eventually(() => simOrders('cliorder1').length === 1);
    sim.step();
    const { code, out } = await placed;
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^intent cliorder1: buy 2 BTC-USDT-SWAP market/);
    expect(out[1]).toMatch(/^verdict APPROVE OK \(all\) approved buy 2 BTC-USDT-SWAP/);
    expect(out.some((l) => l.startsWith('event accepted'))).toBe(true);
    expect(out.at(-1)).toMatch(/^event filled .* fill 2 @ 43000 fee 0\.86 USDT/);

    const denied = await run(orderCommand, ['place', 'flow', '--side', 'sell', '--size', '50', '--follow', '0']);
    expect(denied.code).toBe(1);
    expect(denied.out[1]).toMatch(/^verdict DENY MAX_NOTIONAL \(risk\.maxNotional: limit 1000, value 21500\)/);

    await eventually(async () => (await run(ordersCommand, ['flow'])).out.some((l) => l.startsWith('pnl (risk guard')));
    const book = await run(ordersCommand, ['flow']);
    expect(book.out[0]).toBe('plan flow (okx sim BTC-USDT-SWAP 1m): active, kill switch down');
    expect(book.out).toContain('open orders: 0');
    expect(book.out).toContain('position: BTC-USDT-SWAP 3 @ 43000');
    expect(book.out.find((l) => l.startsWith('fills: 2'))).toBeDefined();
  });

  it('a cancel request (the agent’s cancel_order) passes the guard and cancels the order at the simulator', async () => {
    const resting = intentOf('flow', { type: 'limit', price: PRICE * 0.99 });
    await sendIntent(nats.bus, resting);
    await eventOf(nats.bus, resting.clientOrderId, 'accepted');
    const cancelId = await sendCancel(nats.bus, 'flow', resting.clientOrderId);
    expect(await cancelVerdictOf(nats.bus, cancelId)).toMatchObject({
      decision: 'approve',
      reason: 'OK',
      rule: 'cancel',
      clientOrderId: resting.clientOrderId,
    });
    await eventOf(nats.bus, resting.clientOrderId, 'canceled');
    expect(simOrders(resting.clientOrderId)[0]?.state).toBe('canceled');
    // A cancel is not an order: nothing was placed under its id, and no order verdict was given for it.
    expect(simOrders(cancelId)).toEqual([]);
    expect((await verdicts(nats.bus)).filter((v) => v.clientOrderId === cancelId)).toEqual([]);
    // Once the order is final, a second cancel of it is denied: it is no longer a live order of the plan.
    const again = await sendCancel(nats.bus, 'flow', resting.clientOrderId);
    expect(await cancelVerdictOf(nats.bus, again)).toMatchObject({ decision: 'deny', reason: 'CANCEL_TARGET_UNKNOWN' });
  });

  it('kokex order cancel sends a cancel request: the verdict, then the order’s canceled event; a second one is denied', async () => {
    const resting = intentOf('flow', { type: 'limit', price: PRICE * 0.98 });
    await sendIntent(nats.bus, resting);
    await eventOf(nats.bus, resting.clientOrderId, 'accepted');
    const { code, out } = await run(orderCommand, ['cancel', 'flow', resting.clientOrderId, '--id', 'clicancel1', '--follow', '10s']);
    expect(code).toBe(0);
    expect(out[0]).toBe(`cancel clicancel1: ${resting.clientOrderId} ${SWAP}`);
    expect(out[1]).toMatch(/^cancel verdict APPROVE OK \(cancel\) approved cancel of /);
    expect(out[2]).toMatch(/^event canceled /);
    expect(simOrders(resting.clientOrderId)[0]?.state).toBe('canceled');
    const again = await run(orderCommand, ['cancel', 'flow', resting.clientOrderId, '--follow', '0']);
    expect(again.code).toBe(1);
    expect(again.out[1]).toMatch(/^cancel verdict DENY CANCEL_TARGET_UNKNOWN \(clientOrderId\)/);
  });

  it('kokex risk halt throws the kill switch: open orders are cancelled at the simulator, new intents denied', async () => {
    await publishForecast(nats.bus, true, { asOf: Date.UTC(2026, 0, 5, 2) });
    const resting = [
      intentOf('halt', { type: 'limit', price: PRICE * 0.9 }),
      intentOf('halt', { type: 'limit', side: 'sell', price: PRICE * 1.1 }),
    ];
    for (const intent of resting) {
      await sendIntent(nats.bus, intent);
      await eventOf(nats.bus, intent.clientOrderId, 'accepted');
    }
    expect(simOrders().filter((o) => o.state === 'live')).toHaveLength(2);

    const halted = await run(riskCommand, ['halt', 'halt', '--reason', 'test kill switch']);
    expect(halted.out[0]).toMatch(/^plan halt: halted, kill switch thrown \(by cli:tester: test kill switch/);
    for (const intent of resting) await eventOf(nats.bus, intent.clientOrderId, 'canceled');
    expect(simOrders().filter((o) => o.state === 'live')).toHaveLength(0);

    const after = intentOf('halt');
    await sendIntent(nats.bus, after);
    expect(await verdictOf(nats.bus, after.clientOrderId)).toMatchObject({
      decision: 'deny',
      reason: 'KILL_SWITCH',
      limit: 'off',
      value: 'on',
    });

    expect((await run(riskCommand, ['resume', 'halt'])).out[0]).toMatch(/^plan halt: active, kill switch down/);
    expect((await run(riskCommand, ['resume', 'halt'])).out[0]).toMatch(/nothing to resume$/);
    const resumed = intentOf('halt');
    await sendIntent(nats.bus, resumed);
    expect(await verdictOf(nats.bus, resumed.clientOrderId)).toMatchObject({ decision: 'approve' });
  });
});
