import { resolve } from 'node:path';
import { AdapterRegistry, type ExecutionAdapter, loadPlugin, type MarketDataAdapter, type VenueOrderUpdate } from '@kokex/core';
import { type SimCandle, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { createOkxVenueAdapter, type OkxVenueAdapter, okxDecimal, placeOrderParams } from '../src/index.js';
import { type SimHarness, startSim, waitFor } from './helpers.js';

const data: SimCandle[] = syntheticCandles({ count: 600, seed: 9 });
const START_AT = data[300]?.ts as number;
const SWAP = 'BTC-USDT-SWAP';

let h: SimHarness | undefined;
let adapter: OkxVenueAdapter | undefined;
afterEach(async () => {
  await adapter?.close();
  await h?.stop();
  adapter = undefined;
  h = undefined;
});

/** The adapter as the executor resolves it in sim mode, with no key in the environment. */
async function start(): Promise<{ sim: SimHarness; updates: VenueOrderUpdate[]; resubscribed: () => number }> {
  h = await startSim({ data, startAt: START_AT, idleTimeoutMs: 0 });
  adapter = createOkxVenueAdapter(
    {
      mode: 'sim',
      simPort: h.address.port,
      http: { timeoutMs: 250, maxRetries: 0 },
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, requestTimeoutMs: 2000 },
    },
    {},
  );
  const updates: VenueOrderUpdate[] = [];
  let resubscribes = 0;
  await adapter.subscribeOrders({ onOrder: (u) => updates.push(u), onResubscribed: () => resubscribes++ });
  return { sim: h, updates, resubscribed: () => resubscribes };
}

const ofClient = (updates: VenueOrderUpdate[], id: string) => updates.filter((u) => u.order.clientOrderId === id);

describe('OKX execution adapter against the simulator', () => {
  it('places a market order by client order id and reports live, then the fill with its fee as paid', async () => {
    const { sim, updates } = await start();
    const placed = await adapter!.placeOrder({
      inst: SWAP,
      side: 'buy',
      size: 2,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'mkt01',
    });
    expect(placed).toMatchObject({ accepted: true, duplicate: false, clientOrderId: 'mkt01' });
    sim.sim.step();
    const price = sim.sim.price();
    await waitFor(() => ofClient(updates, 'mkt01').some((u) => u.order.state === 'filled'), 4000, 'fill');
    const [live, filled] = ofClient(updates, 'mkt01');
    expect(live?.order).toMatchObject({ state: 'live', filledSize: 0, venueOrderId: placed.venueOrderId });
    expect(filled?.order).toMatchObject({ state: 'filled', filledSize: 2, avgPrice: price, type: 'market' });
    // 2 contracts of 0.01 BTC at the taker rate (0.1 %), charged: a positive fee.
    expect(filled?.fill?.fee).toBeCloseTo(2 * 0.01 * price * 0.001, 8);
    expect(await adapter!.getOrder({ inst: SWAP, clientOrderId: 'mkt01' })).toMatchObject({
      state: 'filled',
      venueOrderId: placed.venueOrderId,
    });
    expect(await adapter!.positions(SWAP)).toMatchObject([{ inst: SWAP, size: 2, avgPrice: price }]);
    expect((await adapter!.balances()).find((b) => b.ccy === 'USDT')?.total).toBeLessThan(100_000);
  });

  it('answers a second place of a pending client order id with the existing order instead of a new one', async () => {
    const { sim } = await start();
    const request = {
      inst: SWAP,
      side: 'buy' as const,
      size: 1,
      type: 'limit' as const,
      price: 1000,
      reduceOnly: false,
      clientOrderId: 'rest01',
    };
    const first = await adapter!.placeOrder(request);
    const again = await adapter!.placeOrder(request);
    expect(again).toMatchObject({ accepted: true, duplicate: true, venueOrderId: first.venueOrderId });
    expect([...(sim.sim.account()?.orders.values() ?? [])].filter((o) => o.clOrdId === 'rest01')).toHaveLength(1);
    expect((await adapter!.openOrders(SWAP)).map((o) => o.clientOrderId)).toEqual(['rest01']);
  });

  it('tells a refused order (a reason, no throw) from a retryable failure (a throw with retryable set)', async () => {
    const { sim } = await start();
    const refused = await adapter!.placeOrder({
      inst: SWAP,
      side: 'buy',
      size: 0.015,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'lot01',
    });
    expect(refused).toMatchObject({ accepted: false, duplicate: false });
    expect(refused.reason).toMatch(/^51121: /);
    const reduce = await adapter!.placeOrder({
      inst: SWAP,
      side: 'sell',
      size: 1,
      type: 'market',
      reduceOnly: true,
      clientOrderId: 'red01',
    });
    expect(reduce.reason).toMatch(/^51169: /);
    sim.sim.setFaults({ rateLimit50011: 1 });
    await expect(
      adapter!.placeOrder({ inst: SWAP, side: 'buy', size: 1, type: 'market', reduceOnly: false, clientOrderId: 'rate01' }),
    ).rejects.toMatchObject({ code: 'OKX_API', retryable: true });
  });

  it('after a place whose answer never came, a retry finds the order that did land instead of doubling it', async () => {
    const { sim } = await start();
    const request = {
      inst: SWAP,
      side: 'sell' as const,
      size: 1,
      type: 'limit' as const,
      price: 1e6,
      reduceOnly: false,
      clientOrderId: 'slow01',
    };
    sim.sim.setFaults({ slowResponseMs: 600 });
    await expect(adapter!.placeOrder(request)).rejects.toMatchObject({ retryable: true });
    sim.sim.setFaults({ slowResponseMs: 0 });
    await waitFor(
      () => [...(sim.sim.account()?.orders.values() ?? [])].some((o) => o.clOrdId === 'slow01'),
      4000,
      'the slow place to land',
    );
    expect(await adapter!.placeOrder(request)).toMatchObject({ accepted: true, duplicate: true });
    expect([...(sim.sim.account()?.orders.values() ?? [])].filter((o) => o.clOrdId === 'slow01')).toHaveLength(1);
  });

  it('cancels a resting order (canceled update) and treats a second cancel of a final order as done', async () => {
    const { updates } = await start();
    await adapter!.placeOrder({ inst: SWAP, side: 'buy', size: 1, type: 'limit', price: 1000, reduceOnly: false, clientOrderId: 'cxl01' });
    await adapter!.cancelOrder({ inst: SWAP, clientOrderId: 'cxl01' });
    await waitFor(() => ofClient(updates, 'cxl01').some((u) => u.order.state === 'canceled'), 4000, 'cancel');
    expect(ofClient(updates, 'cxl01').at(-1)?.reason).toBe('cancelSource 1');
    await expect(adapter!.cancelOrder({ inst: SWAP, clientOrderId: 'cxl01' })).resolves.toBeUndefined();
    expect(await adapter!.openOrders()).toEqual([]);
  });

  it('says when the orders channel came back after a drop, so the caller can resync', async () => {
    const { sim, resubscribed } = await start();
    sim.sim.dropConnections({ endpoint: 'private' });
    await waitFor(() => resubscribed() > 0, 4000, 'resubscribe');
  });

  it('builds OKX bodies: cash spot sized in base currency, reduce-only only on derivatives, plain decimals', () => {
    expect(
      placeOrderParams({ inst: 'BTC-USDT', side: 'buy', size: 0.0001, type: 'market', reduceOnly: true, clientOrderId: 'a1' }),
    ).toEqual({
      instId: 'BTC-USDT',
      tdMode: 'cash',
      side: 'buy',
      ordType: 'market',
      sz: '0.0001',
      clOrdId: 'a1',
      tgtCcy: 'base_ccy',
    });
    expect(
      placeOrderParams({ inst: SWAP, side: 'sell', size: 3, type: 'limit', price: 0.1 + 0.2, reduceOnly: true, clientOrderId: 'b2' }),
    ).toEqual({
      instId: SWAP,
      tdMode: 'cross',
      side: 'sell',
      ordType: 'limit',
      sz: '3',
      px: '0.3',
      clOrdId: 'b2',
      reduceOnly: true,
    });
    expect(okxDecimal(1e-7)).toBe('0.0000001');
    expect(okxDecimal(42000)).toBe('42000');
  });

  it('trades through exchange:okx as the registry resolves it, and refuses to trade in paper mode', async () => {
    h = await startSim({ data, startAt: START_AT, idleTimeoutMs: 0 });
    const registry = new AdapterRegistry();
    for (const a of (await loadPlugin(resolve(import.meta.dirname, '..'))).definition.adapters ?? []) registry.register(a);
    const venue = await registry.resolve<ExecutionAdapter & MarketDataAdapter>('exchange', 'okx', { mode: 'sim', simPort: h.address.port });
    expect((await venue.instrument(SWAP)).contractValue).toBe(0.01);
    expect(
      await venue.placeOrder({ inst: SWAP, side: 'buy', size: 1, type: 'limit', price: 1000, reduceOnly: false, clientOrderId: 'reg1' }),
    ).toMatchObject({
      accepted: true,
    });
    expect((await venue.openOrders()).map((o) => o.clientOrderId)).toEqual(['reg1']);
    // Paper mode would reach a real account: its trading calls are refused.
    const paper = await registry.resolve<ExecutionAdapter>('exchange', 'okx', { mode: 'paper' });
    await expect(paper.openOrders()).rejects.toMatchObject({ code: 'OKX_CONFIG' });
    await expect(
      paper.placeOrder({ inst: SWAP, side: 'buy', size: 1, type: 'market', reduceOnly: false, clientOrderId: 'p1' }),
    ).rejects.toMatchObject({
      code: 'OKX_CONFIG',
    });
    await registry.closeAll();
  });
});
