import { type Candle, timeframeMs } from '@kokex/core';
import { syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OkxApiError,
  OkxCredentialsMissingError,
  OkxErrorCode,
  OkxInvalidRequestError,
  OkxMalformedResponseError,
  OkxTimeoutError,
} from '../src/index.js';
import { type SimHarness, startSim } from './helpers.js';

const MIN = 60_000;
const data = syntheticCandles({ count: 6000, seed: 21 });
const START = data[0]?.ts as number;
const NOW = START + 5000 * MIN;

async function collect(iter: AsyncIterable<Candle>): Promise<Candle[]> {
  const out: Candle[] = [];
  for await (const c of iter) out.push(c);
  return out;
}

describe('OkxRestClient against the simulator: market data', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSim({ data, startAt: NOW });
  });
  afterAll(() => h.stop());

  it('requestCandleHistory yields every closed bar exactly once, ascending, across many pages', async () => {
    const candles = await collect(
      h.rest().requestCandleHistory({ instId: 'BTC-USDT', bar: '1m', since: START, until: NOW, pageLimit: 300 }),
    );
    expect(candles).toHaveLength(5000);
    candles.forEach((c, i) => {
      expect(c.ts).toBe(START + i * MIN);
      expect(c.confirmed).toBe(true);
    });
    expect(candles.at(-1)?.close).toBe(data[4999]?.close);
  });

  it('honours an unaligned since (first bar opening at or after it) and small pages', async () => {
    const since = START + 10 * MIN + 1;
    const candles = await collect(
      h.rest().requestCandleHistory({ instId: 'BTC-USDT', bar: '5m', since, until: START + 200 * MIN, pageLimit: 7 }),
    );
    expect(candles[0]?.ts).toBe(START + 15 * MIN);
    expect(candles.at(-1)?.ts).toBe(START + 195 * MIN);
    expect(new Set(candles.map((c) => c.ts)).size).toBe(candles.length);
    expect(candles.every((c, i) => i === 0 || c.ts - (candles[i - 1] as Candle).ts === timeframeMs('5m'))).toBe(true);
  });

  it('stops at the forming bar unless asked for it, and reads /market/candles when told', async () => {
    h.sim.step(2);
    const closed = await collect(
      h
        .rest()
        .requestCandleHistory({ instId: 'BTC-USDT', bar: '1H', since: NOW - 5 * 3_600_000, until: NOW + 3_600_000, source: 'recent' }),
    );
    expect(closed.every((c) => c.confirmed)).toBe(true);
    const withForming = await collect(
      h.rest().requestCandleHistory({
        instId: 'BTC-USDT',
        bar: '1H',
        since: NOW - 5 * 3_600_000,
        until: NOW + 3_600_000,
        source: 'recent',
        includeUnconfirmed: true,
      }),
    );
    expect(withForming.at(-1)?.confirmed).toBe(false);
    expect(withForming).toHaveLength(closed.length + 1);
  });

  it('requestCandles returns the latest bars ascending, the forming one last', async () => {
    const latest = await h.rest().requestCandles('BTC-USDT', '1m', 5);
    expect(latest).toHaveLength(5);
    expect(latest.at(-1)?.confirmed).toBe(false);
    expect(latest[0]?.ts).toBeLessThan(latest[1]?.ts as number);
  });

  it('maps instruments and the ticker to typed objects', async () => {
    const rest = h.rest();
    const swap = await rest.requestInstrument('SWAP', 'BTC-USDT-SWAP');
    expect(swap).toMatchObject({ venue: 'okx', tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 });
    const ticker = await rest.requestTicker('BTC-USDT');
    expect(ticker.last).toBe(h.sim.price());
    expect(ticker.ts).toBe(h.sim.now());
  });

  it('turns OKX error envelopes into OkxApiError with the venue code', async () => {
    const err = await h
      .rest()
      .getHistoryCandles({ instId: 'NOPE-USDT' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OkxApiError);
    expect(err).toMatchObject({ code: OkxErrorCode.Api, okxCode: '51001', retryable: false });
  });

  it('syncs its signing clock from /public/time', async () => {
    const rest = h.rest({ now: () => Date.now() - 120_000 }); // a clock two minutes slow
    await expect(rest.requestBalance()).rejects.toMatchObject({ okxCode: '50102', httpStatus: 401 });
    await rest.syncServerTime();
    expect((await rest.requestBalance()).details.length).toBeGreaterThan(0);
  });
});

describe('OkxRestClient against the simulator: failures', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSim({ data: syntheticCandles({ count: 300 }), startAt: syntheticCandles({ count: 300 })[100]?.ts });
  });
  afterAll(() => h.stop());

  it('rejects bad credentials and environment mismatches with non-retryable auth codes', async () => {
    const bad = h.rest({ credentials: { apiKey: 'sim-key', secretKey: 'wrong', passphrase: 'sim-pass' } });
    await expect(bad.requestBalance()).rejects.toMatchObject({ okxCode: '50113', httpStatus: 401, retryable: false });
    await expect(h.rest({ demo: false }).requestBalance()).rejects.toMatchObject({ okxCode: '50101' });
    await expect(h.rest({ credentials: undefined }).requestBalance()).rejects.toBeInstanceOf(OkxCredentialsMissingError);
  });

  it('surfaces a garbled body as OKX_MALFORMED_RESPONSE after its retries', async () => {
    h.sim.setFaults({ malformedBodies: 1 });
    try {
      const err = await h
        .rest({ retryDelayMs: 1 })
        .requestTicker('BTC-USDT')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OkxMalformedResponseError);
      expect((err as OkxMalformedResponseError).retryable).toBe(true);
    } finally {
      h.sim.setFaults({ malformedBodies: 0 });
    }
  });

  it('retries GETs on 50011 and gives up with a retryable OkxApiError', async () => {
    h.sim.setFaults({ rateLimit50011: 1 });
    const before = h.sim.stats().restRequests;
    try {
      const err = await h
        .rest({ retryDelayMs: 1, maxRetries: 2 })
        .requestTicker('BTC-USDT')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ okxCode: '50011', httpStatus: 429, retryable: true });
      expect(h.sim.stats().restRequests - before).toBe(3);
    } finally {
      h.sim.setFaults({ rateLimit50011: 0 });
    }
  });

  it('times out slow answers with OKX_TIMEOUT', async () => {
    h.sim.setFaults({ slowResponseMs: 300 });
    try {
      const err = await h
        .rest({ timeoutMs: 50, maxRetries: 0 })
        .requestTicker('BTC-USDT')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OkxTimeoutError);
    } finally {
      h.sim.setFaults({ slowResponseMs: 0 });
    }
  });

  it('reports a refused order by its sCode, and a duplicate clOrdId as 51016', async () => {
    const rest = h.rest();
    const order = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '100', sz: '0.01', clOrdId: 'same1' };
    expect((await rest.submitOrder(order)).sCode).toBe('0');
    const dup = await rest.submitOrder(order).catch((e: unknown) => e);
    expect(dup).toMatchObject({ okxCode: '1', sCode: '51016', effectiveCode: '51016', retryable: false });
    const broke = await rest.submitOrder({ ...order, clOrdId: 'big1', px: '1000000', sz: '10' }).catch((e: unknown) => e);
    expect(broke).toMatchObject({ sCode: '51008' });
    expect((broke as OkxApiError).sMsg).toMatch(/Insufficient/);
  });

  it('validates clOrdId locally and treats unknown orders as undefined', async () => {
    const rest = h.rest();
    await expect(
      rest.submitOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'market', sz: '10', clOrdId: 'no_underscores' }),
    ).rejects.toBeInstanceOf(OkxInvalidRequestError);
    expect(await rest.requestOrder({ instId: 'BTC-USDT', ordId: '123' })).toBeUndefined();
    await expect(rest.submitCancel({ instId: 'BTC-USDT', ordId: '123' })).rejects.toMatchObject({ sCode: '51400' });
  });
});
