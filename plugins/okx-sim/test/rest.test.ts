import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OkxSimulator, syntheticCandles } from '../src/index.js';
import { getJson, KEY, signedFetch } from './helpers.js';

const MIN = 60_000;
const data = syntheticCandles({ count: 2000, seed: 11 });
const START = data[1500]?.ts as number;

describe('simulator REST: market data as okx-v5.md §6.4–6.6 describes', () => {
  const sim = new OkxSimulator({ data, startAt: START });
  let base = '';
  beforeAll(async () => {
    base = (await sim.start()).restUrl;
  });
  afterAll(() => sim.stop());
  const candles = (path: string, query: string) => getJson(`${base}/api/v5/market/${path}?instId=BTC-USDT&${query}`);

  it('history-candles: newest first, default limit 100, closed bars only', async () => {
    const { status, body } = await candles('history-candles', 'bar=1m');
    expect(status).toBe(200);
    expect(body.code).toBe('0');
    expect(body.data).toHaveLength(100);
    const ts = body.data.map((r: string[]) => Number(r[0]));
    expect(ts[0]).toBe(START - MIN);
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBe(ts[i - 1] - MIN);
    for (const row of body.data) {
      expect(row).toHaveLength(9);
      expect(row.every((c: unknown) => typeof c === 'string')).toBe(true);
      expect(row[8]).toBe('1');
    }
  });

  it('caps limit at 300', async () => {
    expect((await candles('history-candles', 'bar=1m&limit=1000')).body.data).toHaveLength(300);
  });

  it('after=T is exclusive and returns the bars just before T', async () => {
    const T = START - 50 * MIN;
    const { body } = await candles('history-candles', `bar=1m&after=${T}&limit=5`);
    expect(body.data.map((r: string[]) => Number(r[0]))).toEqual([1, 2, 3, 4, 5].map((k) => T - k * MIN));
  });

  it('before=T alone returns the latest bars, not those just after T', async () => {
    const T = START - 500 * MIN;
    const { body } = await candles('history-candles', `bar=1m&before=${T}&limit=3`);
    expect(Number(body.data[0][0])).toBe(START - MIN);
    expect(body.data.every((r: string[]) => Number(r[0]) > T)).toBe(true);
  });

  it('before=S-1 & after=E selects exactly [S, E)', async () => {
    const S = START - 40 * MIN;
    const E = START - 10 * MIN;
    const { body } = await candles('history-candles', `bar=1m&before=${S - 1}&after=${E}&limit=300`);
    const ts = body.data.map((r: string[]) => Number(r[0]));
    expect(ts).toHaveLength(30);
    expect(Math.min(...ts)).toBe(S);
    expect(Math.max(...ts)).toBe(E - MIN);
  });

  it('candles: the forming bar first with confirm "0", then closed bars', async () => {
    sim.step(2); // half-way through a minute
    const { body } = await candles('candles', 'bar=5m&limit=3');
    expect(body.data[0][8]).toBe('0');
    expect(Number(body.data[0][0])).toBe(Math.floor(sim.now() / (5 * MIN)) * 5 * MIN);
    expect(body.data.slice(1).every((r: string[]) => r[8] === '1')).toBe(true);
    const hist = await candles('history-candles', 'bar=5m&limit=1');
    expect(Number(hist.body.data[0][0])).toBe(Number(body.data[1][0]));
  });

  it('candles covers only the latest 1,440 bars', async () => {
    const old = START - 1450 * MIN;
    expect((await candles('candles', `bar=1m&after=${old}`)).body.data).toEqual([]);
    expect((await candles('history-candles', `bar=1m&after=${old}&limit=1`)).body.data).toHaveLength(1);
  });

  it('answers parameter errors with OKX codes and empty data', async () => {
    const missing = await getJson(`${base}/api/v5/market/history-candles?bar=1m`);
    expect(missing).toMatchObject({ status: 400, body: { code: '50014', data: [] } });
    expect((await getJson(`${base}/api/v5/market/candles?instId=NOPE-USDT`)).body.code).toBe('51001');
    expect((await candles('history-candles', 'bar=7m')).body.code).toBe('51000');
    expect((await candles('history-candles', 'bar=1s')).body.code).toBe('51000');
  });

  it('lists instruments with tick, lot, minimum size and contract value', async () => {
    const spot = await getJson(`${base}/api/v5/public/instruments?instType=SPOT`);
    expect(spot.body.data[0]).toMatchObject({ instId: 'BTC-USDT', instType: 'SPOT', tickSz: '0.1', lotSz: '0.00000001', minSz: '0.00001' });
    const swap = await getJson(`${base}/api/v5/public/instruments?instType=SWAP&instId=BTC-USDT-SWAP`);
    expect(swap.body.data[0]).toMatchObject({ ctVal: '0.01', ctType: 'linear', settleCcy: 'USDT' });
    expect((await getJson(`${base}/api/v5/public/instruments`)).body.code).toBe('50014');
  });

  it('ticker carries the replay price and simulated time', async () => {
    const { body } = await getJson(`${base}/api/v5/market/ticker?instId=BTC-USDT`);
    expect(Number(body.data[0].last)).toBe(sim.price());
    expect(Number(body.data[0].ts)).toBe(sim.now());
  });

  it('public/time answers wall-clock ms (what clients sign with)', async () => {
    const { body } = await getJson(`${base}/api/v5/public/time`);
    expect(Math.abs(Number(body.data[0].ts) - Date.now())).toBeLessThan(5000);
  });
});

describe('simulator REST: authentication (§6.2)', () => {
  const sim = new OkxSimulator({
    data: syntheticCandles({ count: 100 }),
    credentials: [{ ...KEY }, { apiKey: 'live-key', secretKey: 's', passphrase: 'p', demo: false }],
  });
  let base = '';
  beforeAll(async () => {
    base = (await sim.start()).restUrl;
  });
  afterAll(() => sim.stop());

  it('accepts a correct signature over path + query', async () => {
    const { status, body } = await signedFetch(base, 'GET', '/api/v5/account/balance?ccy=BTC');
    expect(status).toBe(200);
    expect(body.data[0].details.map((d: { ccy: string }) => d.ccy)).toEqual(['BTC']);
  });

  it('rejects missing headers, a bad sign, an expired timestamp and an environment mismatch with 401', async () => {
    const bare = await getJson(`${base}/api/v5/account/balance`);
    expect(bare).toMatchObject({ status: 401, body: { code: '50103' } });
    expect(await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { tamper: true })).toMatchObject({
      status: 401,
      body: { code: '50113' },
    });
    const old = new Date(Date.now() - 60_000).toISOString();
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { timestamp: old })).body.code).toBe('50102');
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { demo: false })).body.code).toBe('50101');
    const live = { apiKey: 'live-key', secretKey: 's', passphrase: 'p' };
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { key: live, demo: true })).body.code).toBe('50101');
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { key: live, demo: false })).status).toBe(200);
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { key: { ...KEY, passphrase: 'x' } })).body.code).toBe(
      '50105',
    );
    expect((await signedFetch(base, 'GET', '/api/v5/account/balance', undefined, { key: { ...KEY, apiKey: 'who' } })).body.code).toBe(
      '50111',
    );
  });

  it('signs the POST body exactly as sent', async () => {
    const order = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '100', sz: '0.01' };
    expect((await signedFetch(base, 'POST', '/api/v5/trade/order', order)).body.code).toBe('0');
  });
});

describe('simulator REST: trading envelopes and codes (§6.3, §6.7–6.13)', () => {
  const sim = new OkxSimulator({
    data: syntheticCandles({ count: 500, startPrice: 30_000 }),
    startAt: syntheticCandles({ count: 500 })[100]?.ts,
  });
  let base = '';
  beforeAll(async () => {
    base = (await sim.start()).restUrl;
  });
  afterAll(() => sim.stop());
  const place = (body: Record<string, unknown>) => signedFetch(base, 'POST', '/api/v5/trade/order', body);
  const limitBuy = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1000', sz: '0.01' };

  it('accepts an order with sCode "0" and gateway times', async () => {
    const { body } = await place({ ...limitBuy, clOrdId: 'dup1' });
    expect(body).toMatchObject({ code: '0', msg: '', data: [{ clOrdId: 'dup1', sCode: '0' }] });
    expect(body.data[0].ordId).toMatch(/^\d+$/);
    expect(body.inTime).toMatch(/^\d{16}$/);
  });

  it('rejects a pending duplicate clOrdId with top-level "1" and sCode 51016', async () => {
    const { status, body } = await place({ ...limitBuy, clOrdId: 'dup1' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ code: '1', msg: 'All operations failed', data: [{ sCode: '51016', clOrdId: 'dup1' }] });
  });

  it('lets a clOrdId be reused once the earlier order is terminal; GET by clOrdId returns the latest', async () => {
    const first = await signedFetch(base, 'GET', '/api/v5/trade/order?instId=BTC-USDT&clOrdId=dup1');
    const ordId = first.body.data[0].ordId;
    expect(first.body.data[0]).toMatchObject({ state: 'live', avgPx: '', accFillSz: '0' });
    expect(
      (await signedFetch(base, 'POST', '/api/v5/trade/cancel-order', { instId: 'BTC-USDT', clOrdId: 'dup1' })).body.data[0].sCode,
    ).toBe('0');
    const again = await place({ ...limitBuy, clOrdId: 'dup1' });
    expect(again.body.code).toBe('0');
    const latest = await signedFetch(base, 'GET', '/api/v5/trade/order?instId=BTC-USDT&clOrdId=dup1');
    expect(latest.body.data[0].ordId).not.toBe(ordId);
    expect(latest.body.data[0].ordId).toBe(again.body.data[0].ordId);
  });

  it('answers 51400 for cancelling a terminal order and 51603 for an unknown one', async () => {
    const cancel = await signedFetch(base, 'POST', '/api/v5/trade/cancel-order', { instId: 'BTC-USDT', ordId: '1' });
    expect(cancel.body).toMatchObject({ code: '1', data: [{ sCode: '51400' }] });
    const unknown = await signedFetch(base, 'GET', '/api/v5/trade/order?instId=BTC-USDT&ordId=42');
    expect(unknown.body).toEqual({ code: '51603', msg: 'Order does not exist', data: [] });
  });

  it('validates size, lot, clOrdId format and balance with their sCodes', async () => {
    expect((await place({ ...limitBuy, sz: '0.000001' })).body.data[0].sCode).toBe('51020');
    expect((await place({ ...limitBuy, clOrdId: 'has-hyphen' })).body.data[0].sCode).toBe('51000');
    expect((await place({ ...limitBuy, px: '1000000', sz: '1' })).body.data[0].sCode).toBe('51008');
    expect((await place({ ...limitBuy, instId: 'ETH-USDT' })).body.data[0].sCode).toBe('51001');
    expect((await place({ ...limitBuy, tdMode: 'cross' })).body.data[0].sCode).toBe('51000');
  });

  it('lists pending orders newest first and only live/partially filled', async () => {
    const { body } = await signedFetch(base, 'GET', '/api/v5/trade/orders-pending?instType=SPOT');
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data.every((o: { state: string }) => o.state === 'live' || o.state === 'partially_filled')).toBe(true);
    const ids = body.data.map((o: { ordId: string }) => BigInt(o.ordId));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
  });

  it('fills a market order at the next price and reports it in balance and order', async () => {
    const before = sim.account()?.balances.get('BTC')?.cash as number;
    const { body } = await place({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'market', sz: '300' });
    sim.step();
    const order = await signedFetch(base, 'GET', `/api/v5/trade/order?instId=BTC-USDT&ordId=${body.data[0].ordId}`);
    expect(order.body.data[0]).toMatchObject({ state: 'filled', tgtCcy: 'quote_ccy', execType: 'T' });
    expect(Number(order.body.data[0].avgPx)).toBe(sim.price());
    expect(sim.account()?.balances.get('BTC')?.cash).toBeGreaterThan(before);
  });

  it('opens a SWAP position in contracts', async () => {
    await place({ instId: 'BTC-USDT-SWAP', tdMode: 'cross', side: 'buy', ordType: 'market', sz: '2' });
    sim.step();
    const { body } = await signedFetch(base, 'GET', '/api/v5/account/positions?instType=SWAP');
    expect(body.data[0]).toMatchObject({ instId: 'BTC-USDT-SWAP', pos: '2', posSide: 'net', mgnMode: 'cross' });
  });
});

describe('simulator REST: rate limits and faults', () => {
  it('answers 50011 with HTTP 429 once an endpoint quota is spent', async () => {
    const sim = new OkxSimulator({ data: syntheticCandles({ count: 100 }) });
    const { restUrl } = await sim.start();
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, () => getJson(`${restUrl}/api/v5/market/history-candles?instId=BTC-USDT`)),
      );
      const limited = results.filter((r) => r.body.code === '50011');
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]).toMatchObject({ status: 429, body: { msg: 'Too Many Requests' } });
      // Another endpoint has its own quota.
      expect((await getJson(`${restUrl}/api/v5/market/candles?instId=BTC-USDT`)).body.code).toBe('0');
    } finally {
      await sim.stop();
    }
  });

  it('forces 50011 and garbled bodies when switched on at runtime', async () => {
    const sim = new OkxSimulator({ data: syntheticCandles({ count: 100 }) });
    const { restUrl } = await sim.start();
    try {
      sim.setFaults({ rateLimit50011: 1 });
      expect((await getJson(`${restUrl}/api/v5/public/time`)).status).toBe(429);
      sim.setFaults({ rateLimit50011: 0, malformedBodies: 1 });
      const text = await (await fetch(`${restUrl}/api/v5/public/time`)).text();
      expect(() => JSON.parse(text)).toThrow();
      sim.setFaults({ malformedBodies: 0 });
      expect((await getJson(`${restUrl}/api/v5/public/time`)).body.code).toBe('0');
    } finally {
      await sim.stop();
    }
  });
});

describe('simulator REST: venue timestamps are the tape’s market time', () => {
  // Data from mid-2025 (the synthetic default), years before the wall clock of the test machine.
  const data = syntheticCandles({ count: 300, startPrice: 30_000 });
  const start = data[100]?.ts as number;
  const sim = new OkxSimulator({ data, startAt: start });
  let base = '';
  beforeAll(async () => {
    base = (await sim.start()).restUrl;
  });
  afterAll(() => sim.stop());

  it('stamps an order, its fill and the ticker with the replay’s time, and fills it in market time', async () => {
    const placed = await signedFetch(base, 'POST', '/api/v5/trade/order', {
      instId: 'BTC-USDT',
      tdMode: 'cash',
      side: 'buy',
      ordType: 'market',
      // A market buy of spot sizes in the quote currency: 500 USDT.
      sz: '500',
      clOrdId: 'mt1',
    });
    expect(placed.body.data[0]).toMatchObject({ sCode: '0', ts: String(start) });
    sim.step();
    const filledAt = sim.now();
    expect(filledAt).toBeGreaterThan(start);
    const order = (await signedFetch(base, 'GET', '/api/v5/trade/order?instId=BTC-USDT&clOrdId=mt1')).body.data[0];
    expect(order).toMatchObject({ state: 'filled', cTime: String(start), uTime: String(filledAt), fillTime: String(filledAt) });
    const ticker = (await getJson(`${base}/api/v5/market/ticker?instId=BTC-USDT`)).body.data[0];
    expect(Number(ticker.ts)).toBe(filledAt);
    expect(filledAt).toBeLessThan(Date.now() - 86_400_000);
  });
});
