import { AdapterRegistry, type VenueOrderUpdate } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import { BinanceSimulator, syntheticBars } from '@kokex/plugin-binance-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin, {
  BinanceApiError,
  type BinanceVenueAdapter,
  binanceInterval,
  binanceUrls,
  binanceAdapterConfigSchema,
  createBinanceAdapter,
  decimal,
  orderUpdateFromEvent,
  signPayload,
} from '../src/index.js';

const MIN = 60_000;
const START = Date.UTC(2026, 0, 5);
let sim: BinanceSimulator;
let port: number;
const opened: BinanceVenueAdapter[] = [];

function adapter(over: Record<string, unknown> = {}): BinanceVenueAdapter {
  const a = createBinanceAdapter(
    {
      mode: 'sim',
      simPort: port,
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 },
      http: { retryDelayMs: 20, maxRetries: 3, maxRetryDelayMs: 200, timeoutMs: 3000 },
      ...over,
    },
    {},
  );
  opened.push(a);
  return a;
}

beforeAll(async () => {
  sim = new BinanceSimulator({
    data: syntheticBars({ count: 800, start: START }),
    startAt: START + 500 * MIN,
    limits: { faultRetryAfterSec: 1 },
  });
  ({ port } = await sim.start({ port: 0 }));
});
afterAll(async () => {
  for (const a of opened) await a.close();
  await sim?.stop();
});

describe('signing and units', () => {
  it('signs the reference vector as Binance does', () => {
    const secret = '2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9';
    const payload = 'symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943';
    expect(signPayload(secret, payload)).toBe('3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9');
  });

  it('writes plain decimals and maps timeframes to Binance intervals', () => {
    expect(decimal(1e-7)).toBe('0.0000001');
    expect(decimal(0.1 + 0.2)).toBe('0.3');
    expect(binanceInterval('1H')).toBe('1h');
    expect(binanceInterval('1Dutc')).toBe('1d');
    expect(() => binanceInterval('1D')).toThrow(/no "1D" bars/);
  });

  it('picks hosts by mode: demo-fapi with demo-fstream, production, the simulator', () => {
    const urls = (mode: string) => binanceUrls(binanceAdapterConfigSchema.parse({ mode, simPort: 1234 }));
    expect(urls('demo')).toEqual({ rest: 'https://demo-fapi.binance.com', ws: 'wss://demo-fstream.binance.com' });
    expect(urls('live')).toEqual({ rest: 'https://fapi.binance.com', ws: 'wss://fstream.binance.com' });
    expect(urls('sim')).toEqual({ rest: 'http://127.0.0.1:1234', ws: 'ws://127.0.0.1:1234' });
    expect(() => binanceAdapterConfigSchema.parse({ mode: 'sim', apiKey: 'x' })).toThrow();
  });

  it('maps an ORDER_TRADE_UPDATE fill to core', () => {
    const u = orderUpdateFromEvent(
      {
        e: 'ORDER_TRADE_UPDATE',
        T: 5,
        o: {
          s: 'BTCUSDT',
          c: 'a1',
          S: 'BUY',
          o: 'LIMIT',
          q: '0.010',
          p: '67000.0',
          ap: '67000.0',
          x: 'TRADE',
          X: 'PARTIALLY_FILLED',
          i: 22,
          l: '0.004',
          z: '0.004',
          L: '67000.0',
          N: 'USDT',
          n: '0.1072',
          T: 5,
          t: 9,
        },
      },
      7,
    );
    expect(u).toEqual({
      order: {
        inst: 'BTCUSDT',
        clientOrderId: 'a1',
        venueOrderId: '22',
        side: 'buy',
        type: 'limit',
        price: 67000,
        size: 0.01,
        filledSize: 0.004,
        avgPrice: 67000,
        state: 'partially_filled',
        updatedAt: 5,
      },
      fill: { price: 67000, size: 0.004, fee: 0.1072, feeCcy: 'USDT', tradeId: '9' },
      receivedAt: 7,
    });
  });
});

describe('the Binance adapter on binance-sim', () => {
  it('resolves through the registry on both ports, with the rules from exchangeInfo filters', async () => {
    const registry = new AdapterRegistry();
    for (const def of plugin.adapters ?? []) registry.register(def);
    const market = await registry.resolve<BinanceVenueAdapter>('exchange', 'binance', { mode: 'sim', simPort: port });
    opened.push(market);
    const info = await market.instrument('BTCUSDT');
    expect(info).toMatchObject({
      venue: 'binance',
      inst: 'BTCUSDT',
      tickSize: 0.1,
      lotSize: 0.001,
      minSize: 0.001,
      contractValue: 1,
      minNotional: 100,
      marketMaxSize: 120,
      state: 'live',
    });
    const t = await market.ticker('BTCUSDT');
    expect(t.last).toBe(sim.price());
    expect(registry.has('execution', 'binance')).toBe(true);
  });

  it('resyncs its clock on -1021 and signs again', async () => {
    const a = adapter();
    sim.setFaults({ clockSkewMs: -4000 });
    try {
      expect((await a.balances())[0]).toMatchObject({ ccy: 'USDT' });
      expect(a.rest.stats.timeResyncs).toBeGreaterThan(0);
      expect(a.rest.timeOffsetMs).toBeLessThan(-3000);
    } finally {
      sim.setFaults({ clockSkewMs: 0 });
    }
  });

  it('waits out a 418 ban (Retry-After) before its next request, and reads the weight header', async () => {
    const a = adapter();
    sim.setFaults({ ban418: 1 });
    const pending = a.openOrders('BTCUSDT');
    await eventually(() => a.rest.stats.rateLimited > 0);
    sim.setFaults({ ban418: 0 });
    expect(await pending).toEqual(expect.any(Array));
    expect(a.rest.usedWeight).toBeGreaterThan(0);
  });

  it('a place refused by the venue is refused, with its code: notional, reduce-only, lot', async () => {
    const a = adapter();
    const place = (over: object) =>
      a.placeOrder({
        inst: 'BTCUSDT',
        side: 'buy',
        size: 0.01,
        type: 'market',
        reduceOnly: false,
        clientOrderId: `r${Math.random().toString(36).slice(2, 10)}`,
        ...over,
      });
    expect(await place({ size: 0.001 })).toMatchObject({ accepted: false, reason: expect.stringMatching(/^-4164/) });
    expect(await place({ side: 'sell', reduceOnly: true })).toMatchObject({ accepted: false, reason: expect.stringMatching(/^-2022/) });
    expect(await place({ size: 0.0105 })).toMatchObject({ accepted: false, reason: expect.stringMatching(/^-4023/) });
    const err = await a
      .placeOrder({ inst: 'BTCUSDT', side: 'buy', size: 0.01, type: 'market', reduceOnly: false, clientOrderId: 'bad key' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ accepted: false });
    const paper = adapter({ mode: 'paper' });
    await expect(paper.balances()).rejects.toMatchObject({ code: 'BINANCE_CONFIG' });
  });

  it('a repeat of an id this process placed and that is closed already places nothing new', async () => {
    const a = adapter();
    const req = {
      inst: 'BTCUSDT',
      side: 'buy' as const,
      size: 0.01,
      type: 'market' as const,
      reduceOnly: false,
      clientOrderId: 'repeat-closed-1',
    };
    const first = await a.placeOrder(req);
    expect((await a.getOrder({ inst: 'BTCUSDT', clientOrderId: req.clientOrderId }))?.state).toBe('filled');
    const again = await a.placeOrder(req);
    expect(again).toMatchObject({ accepted: true, duplicate: true, venueOrderId: first.venueOrderId });
    expect([...sim.account().orders.values()].filter((o) => o.clientOrderId === req.clientOrderId)).toHaveLength(1);
    await a.placeOrder({ ...req, side: 'sell', reduceOnly: true, clientOrderId: 'repeat-closed-2' });
  });

  it('takes a new listen key when the old one expires, says so, and hears orders again; repeated pushes are dropped', async () => {
    const a = adapter();
    const updates: VenueOrderUpdate[] = [];
    let resubscribed = 0;
    const sub = await a.subscribeOrders({ onOrder: (u) => updates.push(u), onResubscribed: () => resubscribed++ });
    sim.setFaults({ duplicatePushes: 1, privateChannels: true });
    try {
      await a.placeOrder({ inst: 'BTCUSDT', side: 'buy', size: 0.01, type: 'market', reduceOnly: false, clientOrderId: 'lk-1' });
      await eventually(() => updates.some((u) => u.order.clientOrderId === 'lk-1' && u.order.state === 'filled'));
      await new Promise((r) => setTimeout(r, 100));
      expect(updates.filter((u) => u.order.clientOrderId === 'lk-1').map((u) => u.order.state)).toEqual(['live', 'filled']);
      expect(sim.stats().duplicated).toBeGreaterThan(0);
    } finally {
      sim.setFaults({ duplicatePushes: 0, privateChannels: false });
    }
    const keyBefore = sim.connections().find((c) => c.root === 'private')?.listenKey;
    expect(sim.expireListenKeys()).toBe(1);
    await eventually(() => resubscribed > 0);
    const keyAfter = sim.connections().find((c) => c.root === 'private')?.listenKey;
    expect(keyAfter).toBeDefined();
    expect(keyAfter).not.toBe(keyBefore);
    await a.placeOrder({ inst: 'BTCUSDT', side: 'sell', size: 0.01, type: 'market', reduceOnly: true, clientOrderId: 'lk-2' });
    await eventually(() => updates.some((u) => u.order.clientOrderId === 'lk-2' && u.fill !== undefined));
    // A second subscriber on the same account shares the key; the first one leaving does not end its stream.
    const other = adapter();
    const heard: VenueOrderUpdate[] = [];
    const otherSub = await other.subscribeOrders({ onOrder: (u) => heard.push(u) });
    await sub.close();
    await eventually(() => sim.connections().filter((c) => c.root === 'private').length === 1);
    await other.placeOrder({ inst: 'BTCUSDT', side: 'buy', size: 0.01, type: 'market', reduceOnly: false, clientOrderId: 'lk-3' });
    await eventually(() => heard.some((u) => u.order.clientOrderId === 'lk-3' && u.order.state === 'filled'));
    await otherSub.close();
    await eventually(() => !sim.connections().some((c) => c.root === 'private'));
    await other.placeOrder({ inst: 'BTCUSDT', side: 'sell', size: 0.01, type: 'market', reduceOnly: true, clientOrderId: 'lk-4' });
  });

  it('drops repeated and stale kline pushes, and reconnects the market stream after a cut', async () => {
    const a = adapter();
    const closed: number[] = [];
    let resubscribed = 0;
    const sub = await a.subscribeCandles([{ inst: 'BTCUSDT', tf: '1m' }], {
      onCandle: (c) => {
        if (c.confirmed) closed.push(c.ts);
      },
      onResubscribed: () => resubscribed++,
    });
    sim.setFaults({ duplicatePushes: 1 });
    sim.step();
    sim.step();
    await eventually(() => closed.length >= 2);
    sim.setFaults({ duplicatePushes: 0 });
    await new Promise((r) => setTimeout(r, 100));
    expect(new Set(closed).size).toBe(closed.length);
    sim.dropConnections({ root: 'market' });
    await eventually(() => resubscribed === 1);
    sim.step();
    await eventually(() => closed.length >= 3);
    await sub.close();
  });

  it('the API error keeps Binance code, HTTP status and retryability', () => {
    const e = new BinanceApiError({ code: -1007, msg: 'Timeout', httpStatus: 503, path: '/fapi/v1/order' });
    expect(e).toMatchObject({ code: 'BINANCE_API', binanceCode: -1007, retryable: true, outcomeUnknown: true });
    expect(new BinanceApiError({ code: -2019, msg: 'Margin is insufficient.', httpStatus: 400, path: '/x' })).toMatchObject({
      retryable: false,
      outcomeUnknown: false,
    });
    expect(new BinanceApiError({ code: -1003, msg: 'Too many', httpStatus: 429, path: '/x' })).toMatchObject({
      retryable: true,
      rateLimited: true,
    });
  });
});
