import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BinanceSimulator, parseBarCsv, parseBinanceFaultSpec, syntheticBars } from '../src/index.js';

const MIN = 60_000;
const START = Date.UTC(2026, 0, 5);
const KEY = { apiKey: 'sim-key', secretKey: 'sim-secret' };

let sim: BinanceSimulator;
let base: string;
let wsBase: string;

beforeAll(async () => {
  sim = new BinanceSimulator({ data: syntheticBars({ count: 600, start: START, startPrice: 60_000 }), startAt: START + 300 * MIN });
  const a = await sim.start({ port: 0 });
  base = a.restUrl;
  wsBase = a.wsUrl;
});
afterAll(async () => {
  await sim?.stop();
});
afterEach(() => {
  sim.setFaults({
    rateLimit429: 0,
    ban418: 0,
    clockSkewMs: 0,
    unknownStatus: 0,
    skipPushes: 0,
    duplicatePushes: 0,
    reorderPushes: 0,
    privateChannels: false,
  });
});

async function call(
  method: string,
  path: string,
  params: Record<string, string | number | undefined> = {},
  opts: { sign?: boolean; key?: boolean; secret?: string; ts?: number } = {},
) {
  let query = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  const headers: Record<string, string> = {};
  if (opts.sign || opts.key) headers['X-MBX-APIKEY'] = KEY.apiKey;
  if (opts.sign) {
    query = [query, `timestamp=${opts.ts ?? Date.now()}`].filter(Boolean).join('&');
    query += `&signature=${createHmac('sha256', opts.secret ?? KEY.secretKey)
      .update(query)
      .digest('hex')}`;
  }
  const res = await fetch(`${base}${path}${query ? `?${query}` : ''}`, { method, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & unknown[] };
}

/** A WebSocket on the simulator, collecting every frame. */
async function socket(path: string): Promise<{ ws: WebSocket; frames: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(`${wsBase}${path}`);
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, frames };
}

const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('binance-sim REST', () => {
  it('lists BTCUSDT with its filters, and serves klines with the forming bar last', async () => {
    const info = await call('GET', '/fapi/v1/exchangeInfo');
    const btc = (info.body.symbols as Array<Record<string, unknown>>).find((s) => s.symbol === 'BTCUSDT');
    const filters = Object.fromEntries(((btc?.filters ?? []) as Array<Record<string, unknown>>).map((f) => [f.filterType, f]));
    expect(btc).toMatchObject({ status: 'TRADING', contractType: 'PERPETUAL', baseAsset: 'BTC', quoteAsset: 'USDT' });
    expect(filters.PRICE_FILTER).toMatchObject({ tickSize: '0.1' });
    expect(filters.LOT_SIZE).toMatchObject({ stepSize: '0.001', minQty: '0.001' });
    expect(filters.MIN_NOTIONAL).toMatchObject({ notional: '100' });
    const rows = (await call('GET', '/fapi/v1/klines', { symbol: 'BTCUSDT', interval: '1m', limit: 3 })).body as unknown as unknown[][];
    expect(rows.map((r) => r[0])).toEqual([sim.now() - 2 * MIN, sim.now() - MIN, sim.now()]);
    expect(rows[0]).toHaveLength(12);
    expect(rows[0]?.[6]).toBe(sim.now() - 2 * MIN + MIN - 1);
    // start and end both inclusive, by open time; 5m bars built from the 1m source.
    const range = (await call('GET', '/fapi/v1/klines', { symbol: 'BTCUSDT', interval: '5m', startTime: START, endTime: START + 10 * MIN }))
      .body as unknown as unknown[][];
    expect(range.map((r) => r[0])).toEqual([START, START + 5 * MIN, START + 10 * MIN]);
    expect((await call('GET', '/fapi/v1/klines', { symbol: 'BTCUSDT', interval: '7m' })).body).toMatchObject({ code: -1120 });
    expect((await call('GET', '/fapi/v1/klines', { symbol: 'BTCUSDT', interval: '1m', limit: 1501 })).body).toMatchObject({ code: -1130 });
    expect((await call('GET', '/fapi/v1/klines', { symbol: 'NOPE', interval: '1m' })).body).toMatchObject({ code: -1121 });
  });

  it('checks the key, the HMAC signature over the exact query and the timestamp window', async () => {
    expect((await call('GET', '/fapi/v2/balance', {}, { sign: true })).status).toBe(200);
    const badSig = await call('GET', '/fapi/v2/balance', {}, { sign: true, secret: 'wrong' });
    expect(badSig).toMatchObject({ status: 400, body: { code: -1022 } });
    const noKey = await fetch(`${base}/fapi/v2/balance?timestamp=1&signature=00`, { headers: { 'X-MBX-APIKEY': 'nobody' } });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ code: -2015 });
    expect((await call('GET', '/fapi/v2/balance', {}, { sign: true, ts: Date.now() - 6000 })).body).toMatchObject({ code: -1021 });
    expect((await call('GET', '/fapi/v2/balance', {}, { sign: true, ts: Date.now() + 1500 })).body).toMatchObject({ code: -1021 });
    // The skew fault moves the server clock: an unsynced client is outside the window.
    sim.setFaults({ clockSkewMs: -3000 });
    expect((await call('GET', '/fapi/v2/balance', {}, { sign: true })).body).toMatchObject({ code: -1021 });
    const { serverTime } = (await call('GET', '/fapi/v1/time')).body as unknown as { serverTime: number };
    expect((await call('GET', '/fapi/v2/balance', {}, { sign: true, ts: serverTime })).status).toBe(200);
  });

  it('places, finds, amends and cancels by client order id; -4116 for an open duplicate; -1007 after really placing', async () => {
    const price = Math.floor(sim.price() * 0.9);
    const p = {
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.01',
      price: String(price),
      newClientOrderId: 'rest-1',
    };
    const placed = await call('POST', '/fapi/v1/order', p, { sign: true });
    expect(placed.body).toMatchObject({ status: 'NEW', clientOrderId: 'rest-1', executedQty: '0', positionSide: 'BOTH' });
    expect(placed.headers.get('x-mbx-order-count-10s')).toBe('1');
    expect((await call('POST', '/fapi/v1/order', p, { sign: true })).body).toMatchObject({ code: -4116 });
    const amended = await call(
      'PUT',
      '/fapi/v1/order',
      { symbol: 'BTCUSDT', origClientOrderId: 'rest-1', side: 'BUY', quantity: '0.01', price: String(price - 10) },
      { sign: true },
    );
    expect(amended.body).toMatchObject({ price: String(price - 10), status: 'NEW' });
    expect((await call('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'rest-1' }, { sign: true })).body).toMatchObject(
      { status: 'CANCELED' },
    );
    expect((await call('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'rest-1' }, { sign: true })).body).toMatchObject(
      { code: -2011 },
    );
    expect((await call('GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'never' }, { sign: true })).body).toMatchObject({
      code: -2013,
    });
    // Refusals with Binance's codes.
    const refuse = async (over: Record<string, string | undefined>) =>
      (await call('POST', '/fapi/v1/order', { ...p, newClientOrderId: 'rest-x', ...over }, { sign: true })).body.code;
    expect(await refuse({ quantity: '0.0015' })).toBe(-4023);
    expect(await refuse({ price: String(price + 0.05) })).toBe(-4014);
    expect(await refuse({ quantity: '0.001' })).toBe(-4164);
    expect(await refuse({ type: 'STOP_MARKET' })).toBe(-4120);
    expect(await refuse({ side: 'SELL', type: 'MARKET', price: undefined, timeInForce: undefined, reduceOnly: 'true' })).toBe(-2022);
    expect(await refuse({ timeInForce: 'GTX', price: String(Math.ceil(sim.price() * 1.01)) })).toBe(-5022);
    // -1007: the answer says nothing is known, the order is there.
    sim.setFaults({ unknownStatus: 1 });
    const unknown = await call('POST', '/fapi/v1/order', { ...p, newClientOrderId: 'rest-2' }, { sign: true });
    expect(unknown).toMatchObject({ status: 503, body: { code: -1007 } });
    sim.setFaults({ unknownStatus: 0 });
    expect((await call('GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'rest-2' }, { sign: true })).body).toMatchObject({
      status: 'NEW',
    });
    await call('DELETE', '/fapi/v1/allOpenOrders', { symbol: 'BTCUSDT' }, { sign: true });
  });

  it('fills a market order at once and a resting limit when a closing bar trades through it', async () => {
    const mkt = await call(
      'POST',
      '/fapi/v1/order',
      { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', newOrderRespType: 'RESULT' },
      { sign: true },
    );
    expect(mkt.body).toMatchObject({ status: 'FILLED', executedQty: '0.01' });
    const pos = (await call('GET', '/fapi/v2/positionRisk', { symbol: 'BTCUSDT' }, { sign: true })).body as unknown as Array<
      Record<string, string>
    >;
    expect(Number(pos[0]?.positionAmt)).toBeCloseTo(0.01, 9);
    expect(Number(pos[0]?.entryPrice)).toBeCloseTo(sim.price(), 6);
    // A sell limit just above the price fills when the bar's high reaches it.
    const bar = sim.bars.find((b) => b.ts === sim.now());
    const price = Math.floor((bar?.high ?? 0) * 10) / 10;
    await call(
      'POST',
      '/fapi/v1/order',
      {
        symbol: 'BTCUSDT',
        side: 'SELL',
        type: 'LIMIT',
        timeInForce: 'GTC',
        quantity: '0.01',
        price: String(price),
        reduceOnly: 'true',
        newClientOrderId: 'tp-1',
      },
      { sign: true },
    );
    sim.step();
    expect((await call('GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'tp-1' }, { sign: true })).body).toMatchObject({
      status: 'FILLED',
      avgPrice: String(price),
    });
    expect(sim.account().positions.get('BTCUSDT')?.amount).toBe(0);
  });

  it('counts weight, answers 429 with Retry-After over the limit and bans with 418 a client that keeps going', async () => {
    const tight = new BinanceSimulator({
      data: syntheticBars({ count: 10, start: START }),
      limits: { weightPerMinute: 3, banAfter429s: 2, banMs: 60_000 },
    });
    const { restUrl } = await tight.start({ port: 0 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${restUrl}/fapi/v1/ping`);
        statuses.push(r.status);
        if (r.status === 200) expect(r.headers.get('x-mbx-used-weight-1m')).toBe(String(i + 1));
        else expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Minute boundaries can reset the count mid-run; the sequence is 200s, then 429s, then 418s.
      expect(statuses.slice(0, 3).every((s) => s === 200) || statuses.includes(200)).toBe(true);
      expect(statuses).toContain(429);
      expect(statuses.at(-1)).toBe(418);
    } finally {
      await tight.stop();
    }
    sim.setFaults({ rateLimit429: 1 });
    expect((await call('GET', '/fapi/v1/ping')).status).toBe(429);
    sim.setFaults({ rateLimit429: 0, ban418: 1 });
    expect((await call('GET', '/fapi/v1/ping')).status).toBe(418);
  });
});

describe('binance-sim WebSocket', () => {
  it('pushes klines on /market (x:false while forming, one x:true at the close) and stays silent on other roots', async () => {
    const market = await socket('/market/stream?streams=btcusdt@kline_1m');
    const unrouted = await socket('/ws/btcusdt@kline_1m');
    const open = sim.now();
    sim.step();
    await until(() => market.frames.length >= 2);
    const ks = market.frames.map((f) => (f.data as { k: { t: number; x: boolean } }).k);
    expect(market.frames[0]?.stream).toBe('btcusdt@kline_1m');
    expect(ks.slice(0, 2)).toEqual([expect.objectContaining({ t: open, x: true }), expect.objectContaining({ t: open + MIN, x: false })]);
    await new Promise((r) => setTimeout(r, 100));
    expect(unrouted.frames).toEqual([]);
    // JSON control: integer ids only; subscriptions listed.
    market.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@kline_5m'], id: 'x' }));
    market.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 7 }));
    await until(() => market.frames.some((f) => f.id === 7));
    expect(market.frames.find((f) => f.code === 2)).toBeDefined();
    expect(market.frames.find((f) => f.id === 7)?.result).toEqual(['btcusdt@kline_1m']);
    market.ws.close();
    unrouted.ws.close();
  });

  it('drops, duplicates and reorders pushes when told, and cuts sockets', async () => {
    const raw = await socket('/market/ws/btcusdt@kline_1m');
    sim.setFaults({ duplicatePushes: 1 });
    sim.step();
    await until(() => raw.frames.length >= 4);
    expect(raw.frames[0]).toEqual(raw.frames[1]);
    sim.setFaults({ duplicatePushes: 0, skipPushes: 1 });
    const before = raw.frames.length;
    sim.step();
    await new Promise((r) => setTimeout(r, 100));
    expect(raw.frames.length).toBe(before);
    const closed = new Promise((r) => raw.ws.once('close', r));
    expect(sim.dropConnections({ root: 'market' })).toBe(1);
    await closed;
  });

  it('serves the user-data stream on a listen key: events, keepalive, expiry then silence, -1125', async () => {
    const key1 = ((await call('POST', '/fapi/v1/listenKey', {}, { key: true })).body as { listenKey: string }).listenKey;
    const key2 = ((await call('POST', '/fapi/v1/listenKey', {}, { key: true })).body as { listenKey: string }).listenKey;
    expect(key2).toBe(key1);
    expect((await call('PUT', '/fapi/v1/listenKey', {}, { key: true })).body).toEqual({ listenKey: key1 });
    const user = await socket(`/private/ws/${key1}`);
    await call(
      'POST',
      '/fapi/v1/order',
      { symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', newClientOrderId: 'u-1' },
      { sign: true },
    );
    await until(
      () => user.frames.filter((f) => f.e === 'ORDER_TRADE_UPDATE').length >= 2 && user.frames.some((f) => f.e === 'ACCOUNT_UPDATE'),
    );
    const updates = user.frames.filter((f) => f.e === 'ORDER_TRADE_UPDATE').map((f) => f.o as Record<string, unknown>);
    expect(updates.map((o) => [o.x, o.X, o.c])).toEqual([
      ['NEW', 'NEW', 'u-1'],
      ['TRADE', 'FILLED', 'u-1'],
    ]);
    expect(Number(updates[1]?.t)).toBeGreaterThan(0);
    expect(sim.expireListenKeys()).toBe(1);
    await until(() => user.frames.some((f) => f.e === 'listenKeyExpired'));
    const count = user.frames.length;
    await call(
      'POST',
      '/fapi/v1/order',
      { symbol: 'BTCUSDT', side: 'SELL', type: 'MARKET', quantity: '0.01', reduceOnly: 'true', newClientOrderId: 'u-2' },
      { sign: true },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(user.frames.length).toBe(count);
    expect(user.ws.readyState).toBe(WebSocket.OPEN);
    expect((await call('PUT', '/fapi/v1/listenKey', {}, { key: true })).body).toMatchObject({ code: -1125 });
    const refused = new WebSocket(`${wsBase}/private/ws/${key1}`);
    await expect(
      new Promise((resolve, reject) => {
        refused.once('open', resolve);
        refused.once('error', reject);
      }),
    ).rejects.toThrow();
    user.ws.close();
  });
});

describe('binance-sim inputs', () => {
  it('parses the candle CSV and the fault spec', () => {
    expect(parseBarCsv('ts,open,high,low,close,volume\n1,2,3,1,2,5\n')).toEqual([{ ts: 1, open: 2, high: 3, low: 1, close: 2, volume: 5 }]);
    expect(() => parseBarCsv('ts,open\n1,2')).toThrow(/high/);
    expect(parseBinanceFaultSpec('dup=0.1,429=0.5,skew=-2000,unknown=1,private')).toEqual({
      duplicatePushes: 0.1,
      rateLimit429: 0.5,
      clockSkewMs: -2000,
      unknownStatus: 1,
      privateChannels: true,
    });
    expect(() => parseBinanceFaultSpec('nope=1')).toThrow(/unknown fault/);
  });
});
