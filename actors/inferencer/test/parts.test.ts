import { KronosModel } from '@kokex/kronos-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNats, type TestNats } from '@kokex/core/testing';
import { CandleHistory, emptyRecord, ForecastBatcher, SHIPPED_MODEL_DIR, SKILL_TOPOLOGY, SkillStore, scoreForecast } from '../src/index.js';
import { HOUR, hourlyCandles } from './support.js';

const START = Date.UTC(2026, 0, 1);

describe('candle history', () => {
  it('appends, reports gaps, takes late and repaired bars, and stays within capacity', () => {
    const bars = hourlyCandles('BTC-USDT-SWAP', START, 6);
    const h = new CandleHistory('1H', 4);
    expect(h.add(bars[0]!)).toBe('appended');
    expect(h.add(bars[2]!)).toBe('gap');
    expect(h.add(bars[1]!)).toBe('inserted');
    expect(h.add({ ...bars[1]!, close: 1 })).toBe('duplicate');
    expect(h.add(bars[3]!)).toBe('appended');
    expect(h.add(bars[4]!)).toBe('appended');
    expect(h.latest(10).map((b) => (b.ts - START) / HOUR)).toEqual([1, 2, 3, 4]);
    expect(h.latest(10)[0]?.close).toBe(1);
    expect(h.closesAt([START + 3 * HOUR, START + 4 * HOUR])).toEqual([bars[3]?.close, bars[4]?.close]);
    expect(h.closesAt([START + 5 * HOUR])).toBeUndefined();
  });
});

describe('skill store on a real nats-server', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
    await nats.bus.provision(SKILL_TOPOLOGY);
  });
  afterAll(async () => nats?.stop());

  it('merges concurrent writers instead of losing one (compare-and-set on the revision)', async () => {
    const key = { model: 'kronos', version: 'v1', inst: 'BTC-USDT-SWAP', tf: '1H' };
    const pending = {
      asOf: 0,
      steps: [1],
      lastClose: 100,
      closes: [Float64Array.from([0])],
      median: [0],
      low95: [-0.01],
      high95: [0.01],
      band80: { low: [-0.01], high: [0.01] },
      band90: { low: [-0.01], high: [0.01] },
      expected80: 0.8,
      expected90: 0.9,
      pUp: 0.5,
      pUpRaw: 0.5,
      pVolExpand: 0.5,
      pVolExpandRaw: 0.5,
      volHistorical: Number.NaN,
      sigma: 0.01,
    };
    const a = new SkillStore(nats.bus);
    const b = new SkillStore(await nats.connect('second-replica'));
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).add(key, [{ ...scoreForecast(pending, [100 + i]), asOf: i }], 50, i)),
    );
    const record = await new SkillStore(nats.bus).load(key, 50);
    expect(record.entries.map((e) => e.asOf)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await a.load({ ...key, version: 'v2' }, 50)).toEqual(emptyRecord({ ...key, version: 'v2' }, 50));
  });
});

describe('forecast batcher', () => {
  let model: KronosModel;
  beforeAll(async () => {
    model = await KronosModel.load({ dir: SHIPPED_MODEL_DIR });
  });
  afterAll(async () => model?.dispose());

  it('runs concurrent requests in one call and computes identical ones once', async () => {
    const batcher = new ForecastBatcher(5);
    const candles = hourlyCandles('BTC-USDT-SWAP', START, 40);
    const futureTs = [40, 41, 42].map((i) => START + i * HOUR);
    const request = (seed: number) => ({ candles, futureTs, paths: 2, sampling: { temperature: 1, topK: 0, topP: 0.9 }, seed });
    const results = await Promise.all([
      batcher.run({ model, request: request(1), coalesceKey: 'a' }),
      batcher.run({ model, request: request(2), coalesceKey: 'b' }),
      batcher.run({ model, request: request(1), coalesceKey: 'a' }),
    ]);
    expect([batcher.batches, batcher.coalesced]).toEqual([1, 1]);
    expect(results.map((r) => r.batchSize)).toEqual([2, 2, 2]);
    expect(results[0]?.paths).toBe(results[2]?.paths);
    expect(results[0]?.paths.batchRows).toBe(4);
    await batcher.idle();
  });
});
