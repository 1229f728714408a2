import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePath, type ForecastPaths, type ForecastRequest, GREEDY, KronosCardError, KronosModel, readCard } from '../src/index.js';
import { futureTimes, randomWalk, SHIPPED_DIR } from './support.js';

/**
 * The in-place KV cache (graph contract 2) against the full recompute on the shipped model: the
 * same tokens, greedy and seeded, at several lookbacks, horizons and batch shapes (one series,
 * several series of equal paths read one history cache each, unequal path counts tile it), and
 * the record of which exact path each forecast took.
 */
let model: KronosModel;
let shortContext: KronosModel;
const SEEDED = { temperature: 1, topK: 0, topP: 0.9 };

const tokens = (p: ForecastPaths | undefined) => [Array.from(p?.s1 ?? []), Array.from(p?.s2 ?? [])];

function maxAbsDiff(a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): number {
  if (!a || !b || a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function request(lookback: number, horizon: number, paths: number, series: number, seed: number, sampling = SEEDED): ForecastRequest {
  const candles = randomWalk(lookback, series);
  return { candles, futureTs: futureTimes(candles, horizon), paths, sampling, seed };
}

beforeAll(async () => {
  model = await KronosModel.load({ dir: SHIPPED_DIR });
  shortContext = await KronosModel.load({ dir: SHIPPED_DIR }, { maxContext: 32 });
});
afterAll(async () => {
  await model?.dispose();
  await shortContext?.dispose();
});

describe('in-place KV cache', () => {
  it('equals the full recompute token for token, greedy and seeded, at several lengths and batch sizes', async () => {
    const shapes = [
      { lookback: 2, horizon: 5, paths: [1] },
      { lookback: 17, horizon: 12, paths: [3] },
      { lookback: 64, horizon: 16, paths: [8] },
      { lookback: 100, horizon: 12, paths: [2, 2, 2] }, // three series, one history cache each
      { lookback: 50, horizon: 9, paths: [1, 4] }, // unequal paths: the history is tiled per row
    ];
    for (const shape of shapes) {
      for (const sampling of [GREEDY, SEEDED]) {
        const requests = shape.paths.map((p, k) => request(shape.lookback, shape.horizon, p, 10 + k, 7 + k, sampling));
        const kv = await model.forecast(requests, { cache: 'auto' });
        const full = await model.forecast(requests, { cache: 'recompute' });
        const label = `lookback ${shape.lookback}, horizon ${shape.horizon}, paths ${shape.paths.join('+')}, topK ${sampling.topK}`;
        for (const [k, r] of requests.entries()) {
          expect(kv[k]?.path.path, label).toBe('kv-cache');
          expect(kv[k]?.steps, label).toEqual({ cached: shape.horizon - 1, recomputed: 1 });
          expect(full[k]?.steps, label).toEqual({ cached: 0, recomputed: shape.horizon });
          expect(tokens(kv[k]), label).toEqual(tokens(full[k]));
          expect(maxAbsDiff(kv[k]?.normalized, full[k]?.normalized), label).toBeLessThan(1e-4);
          expect(kv[k]?.s1.length, label).toBe(r.paths * shape.horizon);
        }
      }
    }
  });

  it('the decode of the generated bars on the shared history equals the per-path decode of the whole window', async () => {
    // per-path prefill decodes each path's whole window in one pass (the upstream structure).
    const r = request(90, 20, 5, 3, 4);
    const [shared] = await model.forecast([r], { prefill: 'shared' });
    const [perPath] = await model.forecast([r], { prefill: 'per-path' });
    expect(tokens(shared)).toEqual(tokens(perPath));
    expect(maxAbsDiff(shared?.normalized, perPath?.normalized)).toBeLessThan(1e-4);
  });
});

describe('which exact path a forecast took', () => {
  it('records the cache, the slide that ended it, and a recompute asked for, consistent with the steps that ran', async () => {
    // Context 32: lookback 20 + horizon 8 fits; lookback 28 + 8 slides at step 5; lookback 32 slides from step 1; 40 is cut to 32.
    const fits = await shortContext.forecast([request(20, 8, 2, 1, 1)]);
    expect(fits[0]?.path).toMatchObject({ path: 'kv-cache', slideStep: undefined });
    expect(fits[0]?.steps).toEqual({ cached: 7, recomputed: 1 });

    const slides = await shortContext.forecast([request(28, 8, 2, 1, 1)]);
    expect(slides[0]?.path).toMatchObject({ path: 'kv-cache-then-recompute', slideStep: 5 });
    expect(slides[0]?.path.reason).toMatch(/slides at step 5.*RoPE restarts at 0/);
    expect(slides[0]?.steps).toEqual({ cached: 4, recomputed: 4 }); // prefill + steps 1..4 cached, 5..7 recomputed

    const full = await shortContext.forecast([request(40, 8, 2, 1, 1)]);
    expect(full[0]?.lookback).toBe(32);
    expect(full[0]?.path).toMatchObject({ path: 'kv-cache-then-recompute', slideStep: 1 });
    expect(full[0]?.steps).toEqual({ cached: 0, recomputed: 8 });

    const asked = await shortContext.forecast([request(20, 8, 2, 1, 1)], { cache: 'recompute' });
    expect(asked[0]?.path).toMatchObject({ path: 'recompute', reason: 'recompute was asked for' });
    // Both paths are exact: the same tokens.
    expect(tokens(asked[0])).toEqual(tokens(fits[0]));
  });

  it('decides the path from the shapes alone', () => {
    expect(decodePath({ lookback: 256, horizon: 24, maxContext: 512, cache: 'auto' }).path).toBe('kv-cache');
    expect(decodePath({ lookback: 489, horizon: 24, maxContext: 512, cache: 'auto' }).path).toBe('kv-cache'); // 489 + 23 = 512
    expect(decodePath({ lookback: 490, horizon: 24, maxContext: 512, cache: 'auto' })).toMatchObject({
      path: 'kv-cache-then-recompute',
      slideStep: 23,
    });
    expect(decodePath({ lookback: 600, horizon: 24, maxContext: 512, cache: 'auto' })).toMatchObject({ path: 'recompute', slideStep: 0 });
  });
});

describe('graph contract', () => {
  it('refuses a card exported before the in-place cache, saying how to fix it', async () => {
    const card = JSON.parse(await readFile(join(SHIPPED_DIR, 'card.json'), 'utf8')) as Record<string, unknown>;
    expect(() => readCard(card, 'shipped')).not.toThrow();
    const { graph_contract: _, ...old } = card;
    expect(() => readCard(old, 'old card')).toThrow(KronosCardError);
    expect(() => readCard(old, 'old card')).toThrow(/contract 1.*re-export/);
  });
});
