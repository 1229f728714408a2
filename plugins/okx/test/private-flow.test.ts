import { syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import type { OkxBalance, OkxFill, OkxOrder, OkxPosition } from '../src/index.js';
import { type SimHarness, startSim, waitFor } from './helpers.js';

const data = syntheticCandles({ count: 3000, seed: 44 });
const START_AT = data[1000]?.ts as number;

let h: SimHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** A client subscribed to orders, account and positions, recording every event. */
async function privateClient(harness: SimHarness) {
  const client = harness.ws();
  const orders: OkxOrder[] = [];
  const fills: OkxFill[] = [];
  const balances: Array<{ eventType: string | undefined; balances: OkxBalance[] }> = [];
  const positions: Array<{ eventType: string | undefined; positions: OkxPosition[] }> = [];
  const events: string[] = [];
  client.on('order', (o) => orders.push(o));
  client.on('fill', (f) => fills.push(f));
  client.on('account', (a) => balances.push(a));
  client.on('positions', (p) => positions.push(p));
  client.on('event', (e) => events.push(e.frame.event));
  await client.subscribeOrders();
  await client.subscribeAccount({ updateIntervalMs: 0 });
  await client.subscribePositions({ instType: 'SWAP', updateIntervalMs: 0 });
  return { client, orders, fills, balances, positions, events };
}

const ofOrder = (list: OkxOrder[], ordId: string) => list.filter((o) => o.ordId === ordId);

describe('private order flow: REST place → orders push → fill', () => {
  it('fills a market order at the next price: live, then filled with its fill, then the balance', async () => {
    h = await startSim({ data, startAt: START_AT });
    const p = await privateClient(h);
    expect(p.events).toContain('channel-conn-count');
    await waitFor(() => p.balances.some((b) => b.eventType === 'snapshot'));
    const ack = await h
      .rest()
      .submitOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'market', sz: '500', clOrdId: 'mkt1' });
    await waitFor(() => ofOrder(p.orders, ack.ordId).length === 1);
    expect(ofOrder(p.orders, ack.ordId)[0]).toMatchObject({ state: 'live', clOrdId: 'mkt1', filledSize: 0, avgPrice: undefined });

    h.sim.step();
    const price = h.sim.price();
    await waitFor(() => ofOrder(p.orders, ack.ordId).some((o) => o.state === 'filled'));
    const filled = ofOrder(p.orders, ack.ordId).at(-1) as OkxOrder;
    expect(filled.avgPrice).toBe(price);
    expect(filled.filledSize).toBeCloseTo(500 / price, 8);
    expect(p.fills).toHaveLength(1);
    expect(p.fills[0]).toMatchObject({ ordId: ack.ordId, price, execType: 'T', feeCcy: 'BTC' });
    expect(p.fills[0]?.fee).toBeLessThan(0);
    await waitFor(() => p.balances.some((b) => b.eventType === 'event_update' && b.balances[0]?.details.some((d) => d.ccy === 'BTC')));

    const viaRest = await h.rest().requestOrder({ instId: 'BTC-USDT', clOrdId: 'mkt1' });
    expect(viaRest).toMatchObject({ state: 'filled', avgPrice: price });
    expect(await h.rest().requestOpenOrders()).toEqual([]);
  });

  it('rests a limit order, fills it as maker at its price when the market crosses, and cancels another', async () => {
    h = await startSim({ data, startAt: START_AT });
    const p = await privateClient(h);
    const rest = h.rest();
    // A buy limit a little above the lowest low of the next 30 minutes will be reached.
    const next = data.slice(1001, 1031);
    const px = Math.round((Math.min(...next.map((b) => b.low)) + 0.5) * 10) / 10;
    expect(px).toBeLessThan(h.sim.price());
    const resting = await rest.submitOrder({
      instId: 'BTC-USDT',
      tdMode: 'cash',
      side: 'buy',
      ordType: 'limit',
      px: String(px),
      sz: '0.01',
    });
    const far = await rest.submitOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1000', sz: '0.01' });
    expect((await rest.requestOpenOrders({ instType: 'SPOT' })).map((o) => o.ordId).sort()).toEqual([resting.ordId, far.ordId].sort());

    h.sim.stepBars(30);
    await waitFor(() => ofOrder(p.orders, resting.ordId).some((o) => o.state === 'filled'));
    const fill = p.fills.find((f) => f.ordId === resting.ordId);
    expect(fill).toMatchObject({ price: px, size: 0.01, execType: 'M' });

    await rest.submitCancel({ instId: 'BTC-USDT', ordId: far.ordId });
    await waitFor(() => ofOrder(p.orders, far.ordId).some((o) => o.state === 'canceled'));
    expect(ofOrder(p.orders, far.ordId).at(-1)?.cancelSource).toBe('1');
    await expect(rest.submitCancel({ instId: 'BTC-USDT', ordId: far.ordId })).rejects.toMatchObject({ sCode: '51400' });
  });

  it('opens and closes a SWAP position, pushed on the positions channel', async () => {
    h = await startSim({ data, startAt: START_AT });
    const p = await privateClient(h);
    await waitFor(() => p.positions.some((x) => x.eventType === 'snapshot'));
    const rest = h.rest();
    await rest.submitOrder({ instId: 'BTC-USDT-SWAP', tdMode: 'cross', side: 'buy', ordType: 'market', sz: '3' });
    h.sim.step();
    await waitFor(() => p.positions.some((x) => x.positions[0]?.pos === 3));
    expect((await rest.requestPositions({ instType: 'SWAP' }))[0]).toMatchObject({ instId: 'BTC-USDT-SWAP', pos: 3, posSide: 'net' });
    await rest.submitOrder({ instId: 'BTC-USDT-SWAP', tdMode: 'cross', side: 'sell', ordType: 'market', sz: '3', reduceOnly: true });
    h.sim.step();
    await waitFor(() => p.positions.some((x) => x.eventType === 'event_update' && x.positions[0]?.pos === 0));
    expect(await rest.requestPositions()).toEqual([]);
  });

  it('splits fills into partially_filled → filled and drops duplicated pushes by OKX rules', async () => {
    h = await startSim({ data, startAt: START_AT, fillParts: 2, seed: 2, faults: { duplicatePushes: 1, privateChannels: true } });
    const p = await privateClient(h);
    const ack = await h.rest().submitOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'sell', ordType: 'market', sz: '0.02' });
    h.sim.step();
    await waitFor(() => ofOrder(p.orders, ack.ordId).some((o) => o.state === 'filled'));
    expect(ofOrder(p.orders, ack.ordId).map((o) => o.state)).toEqual(['live', 'partially_filled', 'filled']);
    const tradeIds = p.fills.map((f) => f.tradeId);
    expect(new Set(tradeIds).size).toBe(2);
    expect(tradeIds).toHaveLength(2);
    expect(p.fills.reduce((s, f) => s + f.size, 0)).toBeCloseTo(0.02, 10);
    expect(p.client.stats().duplicateOrdersDropped).toBeGreaterThanOrEqual(3);
  });

  it('logs in again and resubscribes after a drop, so order pushes keep coming', async () => {
    h = await startSim({ data, startAt: START_AT });
    const p = await privateClient(h);
    const reconnected = p.client.next('reconnected', (r) => r.endpoint === 'private');
    h.sim.dropConnections({ endpoint: 'private' });
    await reconnected;
    expect(h.sim.stats().logins).toBe(2);
    const ack = await h.rest().submitOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1000', sz: '0.01' });
    await waitFor(() => ofOrder(p.orders, ack.ordId).length === 1);
  });
});
