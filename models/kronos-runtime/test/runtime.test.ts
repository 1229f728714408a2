import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  candleFeatures,
  ExecutionProviderError,
  type ForecastPaths,
  type ForecastRequest,
  GREEDY,
  KronosCardError,
  KronosDisposedError,
  KronosInputError,
  KronosModel,
  normalizeWindow,
  readCard,
} from '../src/index.js';
import { futureTimes, randomWalk, SHIPPED_DIR } from './support.js';

/** The runtime on the shipped model: cache and prefill equivalences, seeded determinism, loading, providers. */
let model: KronosModel;
let shortContext: KronosModel;
const SAMPLED = { temperature: 1, topK: 0, topP: 0.9 };

function request(count: number, seedSeries: number, paths: number, seed = 11, sampling = SAMPLED): ForecastRequest {
  const candles = randomWalk(count, seedSeries);
  return { candles, futureTs: futureTimes(candles, 12), paths, sampling, seed };
}

const tokens = (p: ForecastPaths | undefined) => [Array.from(p?.s1 ?? []), Array.from(p?.s2 ?? [])];

beforeAll(async () => {
  model = await KronosModel.load({ dir: SHIPPED_DIR });
  shortContext = await KronosModel.load({ dir: SHIPPED_DIR }, { maxContext: 40 });
});
afterAll(async () => {
  await model?.dispose();
  await shortContext?.dispose();
});

describe('Kronos runtime on the shipped model', () => {
  it('reads sizes and limits from the card', () => {
    expect(model.spec).toMatchObject({
      name: 'kronos-tiny',
      vocabS1: 256,
      vocabS2: 256,
      maxContext: 128,
      dModel: 64,
      nLayers: 3,
      nHeads: 4,
    });
    expect(model.executionProvider).toBe('cpu');
  });

  it('KV cache and full recompute give identical tokens (greedy and seeded sampling)', async () => {
    for (const sampling of [GREEDY, SAMPLED]) {
      const r = request(60, 1, 4, 5, sampling);
      const [kv] = await model.forecast([r], { cache: 'auto' });
      const [full] = await model.forecast([r], { cache: 'recompute' });
      expect(kv?.steps).toEqual({ cached: 11, recomputed: 1 });
      expect(full?.steps).toEqual({ cached: 0, recomputed: 12 });
      expect(tokens(kv)).toEqual(tokens(full));
      let worst = 0;
      full?.normalized.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - (kv?.normalized[i] as number)));
      });
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('falls back to recompute once the window slides, still matching the full recompute', async () => {
    const r = request(34, 2, 3);
    const [auto] = await shortContext.forecast([r], { cache: 'auto' });
    const [full] = await shortContext.forecast([r], { cache: 'recompute' });
    expect(auto?.steps).toEqual({ cached: 6, recomputed: 6 }); // lengths 34..40 fit, 41.. slide
    expect(tokens(auto)).toEqual(tokens(full));
  });

  it('a prefill shared across paths equals a prefill per path', async () => {
    const r = request(50, 3, 5);
    const [shared] = await model.forecast([r], { prefill: 'shared' });
    const [perPath] = await model.forecast([r], { prefill: 'per-path' });
    expect(tokens(shared)).toEqual(tokens(perPath));
  });

  it('is deterministic for a seed, differs between seeds, and paths differ from each other', async () => {
    const [a] = await model.forecast([request(50, 4, 6, 99)]);
    const [b] = await model.forecast([request(50, 4, 6, 99)]);
    const [c] = await model.forecast([request(50, 4, 6, 100)]);
    expect(Array.from(a?.values ?? [])).toEqual(Array.from(b?.values ?? []));
    expect(tokens(a)).not.toEqual(tokens(c));
    const first = Array.from(a?.s1.subarray(0, 12) ?? []);
    const others = [1, 2, 3, 4, 5].map((p) => Array.from(a?.s1.subarray(p * 12, (p + 1) * 12) ?? []));
    expect(others.some((o) => o.join() !== first.join())).toBe(true);
  });

  it('a request gives the same paths alone or batched with others', async () => {
    const alone = await model.forecast([request(50, 5, 3, 1)]);
    const batched = await model.forecast([request(50, 6, 4, 2), request(50, 5, 3, 1), request(70, 7, 2, 3)]);
    expect(batched[1]?.batchRows).toBe(7); // the 70-bar request runs in a batch of its own
    expect(batched[2]?.batchRows).toBe(2);
    expect(tokens(batched[1])).toEqual(tokens(alone[0]));
  });

  it('returns de-normalized OHLCV paths on the scale of the input', async () => {
    const r = request(80, 8, 4);
    const [out] = await model.forecast([r]);
    const last = r.candles[r.candles.length - 1]?.close as number;
    expect(out?.values.length).toBe(4 * 12 * 6);
    for (let i = 3; i < (out?.values.length ?? 0); i += 6) expect(Math.abs((out?.values[i] as number) / last - 1)).toBeLessThan(0.5);
  });

  it('loads from registry bytes the same model as from the directory', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const f of await readdir(SHIPPED_DIR))
      if (f.endsWith('.onnx') || f === 'card.json') files[f] = await readFile(join(SHIPPED_DIR, f));
    const fromBytes = await KronosModel.load({ files, where: 'test' });
    try {
      const r = request(40, 9, 2);
      expect(tokens((await fromBytes.forecast([r]))[0])).toEqual(tokens((await model.forecast([r]))[0]));
    } finally {
      await fromBytes.dispose();
    }
  });

  it('normalizes over exactly the bars the predictor sees: a lookback longer than the context runs on its last max_context bars', async () => {
    const long = request(200, 12, 3, 21);
    const last = { ...long, candles: long.candles.slice(-128) };
    const [fromLong] = await model.forecast([long]);
    const [fromLast] = await model.forecast([last]);
    expect(fromLong?.lookback).toBe(128);
    expect(tokens(fromLong)).toEqual(tokens(fromLast));
    expect(Array.from(fromLong?.values ?? [])).toEqual(Array.from(fromLast?.values ?? []));
    // The statistics are those of the last 128 bars, not of all 200 (which differ on a random walk).
    const features = (rows: typeof long.candles) => candleFeatures(rows);
    const window = normalizeWindow(features(long.candles.slice(-128)), model.spec.eps, model.spec.clip);
    const all = normalizeWindow(features(long.candles), model.spec.eps, model.spec.clip);
    expect(Array.from(fromLong?.mean ?? [])).toEqual(Array.from(window.mean));
    expect(Array.from(fromLong?.std ?? [])).toEqual(Array.from(window.std));
    expect(Math.abs((all.mean[3] as number) - (window.mean[3] as number))).toBeGreaterThan(1);
    // A shorter context cuts at its own length.
    const [short] = await shortContext.forecast([{ ...long, futureTs: long.futureTs.slice(0, 4) }]);
    expect(short?.lookback).toBe(40);
    expect(Array.from(short?.mean ?? [])).toEqual(
      Array.from(normalizeWindow(features(long.candles.slice(-40)), model.spec.eps, model.spec.clip).mean),
    );
    // Within the context every bar is used.
    expect((await model.forecast([request(60, 12, 1)]))[0]?.lookback).toBe(60);
  });

  it('refuses requests it cannot run', async () => {
    const r = request(40, 1, 2);
    expect(() => model.forecast([{ ...r, candles: r.candles.slice(0, 1) }])).toThrow(KronosInputError);
    expect(() => model.forecast([{ ...r, futureTs: new Array(129).fill(0) }])).toThrow(/exceeds the model context 128/);
    expect(() => model.forecast([{ ...r, candles: [...r.candles].reverse() }])).toThrow(/ascending/);
    expect(() => model.forecast([{ ...r, paths: 0 }])).toThrow(/paths/);
    const bad = r.candles.map((c, i) => (i === 3 ? { ...c, close: Number.NaN } : c));
    await expect(model.forecast([{ ...r, candles: bad }])).rejects.toThrow(/non-finite/);
  });
});

describe('execution providers', () => {
  it('skips unavailable providers with a reason, logs the choice, and runs on the CPU', async () => {
    const lines: Array<{ level: string; msg: string; obj: object }> = [];
    const log = {
      info: (obj: object, msg: string) => lines.push({ level: 'info', msg, obj }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', msg, obj }),
    };
    const m = await KronosModel.load({ dir: SHIPPED_DIR }, { executionProviders: ['cuda', 'webgpu', 'cpu'], log });
    try {
      expect(m.executionProvider).toBe('cpu');
      expect(m.skippedProviders.map((s) => s.provider)).toEqual(['cuda', 'webgpu']);
      expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
        expect.stringMatching(/^execution provider cuda is unavailable .*CUDA.*trying the next one$/),
        expect.stringMatching(/^execution provider webgpu is unavailable .*Vulkan.*trying the next one$/),
      ]);
      expect(lines.at(-1)?.msg).toBe('Kronos runs on the cpu execution provider');
    } finally {
      await m.dispose();
    }
  });

  it('fails with every reason when no listed provider can run', async () => {
    const err = await KronosModel.load({ dir: SHIPPED_DIR }, { executionProviders: ['cuda'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionProviderError);
    expect((err as ExecutionProviderError).code).toBe('KRONOS_EXECUTION_PROVIDER');
    expect((err as Error).message).toMatch(/cuda: .*add cpu to forecast.executionProviders/);
  });
});

describe('card and lifecycle', () => {
  it('refuses a card whose preprocessing or vocabulary it cannot honour', async () => {
    const card = JSON.parse(await readFile(join(SHIPPED_DIR, 'card.json'), 'utf8'));
    expect(() => readCard({ ...card, preprocessing: { ...card.preprocessing, features: ['close'] } }, 'x')).toThrow(KronosCardError);
    const wrongWidth = structuredClone(card);
    wrongWidth.graphs.predictor_s1.outputs[0].shape = ['B', 512];
    expect(() => readCard(wrongWidth, 'x')).toThrow(/s1_logits has width 512 but s1_bits gives 256/);
    expect(() => readCard({ ...card, format: 'other' }, 'x')).toThrow(/invalid card.json/);
    await expect(KronosModel.load({ dir: '/nonexistent' })).rejects.toThrow(KronosCardError);
  });

  it('finishes the running forecast before a dispose releases the sessions, then refuses new ones', async () => {
    const m = await KronosModel.load({ dir: SHIPPED_DIR });
    const running = m.forecast([request(40, 1, 2)]);
    await m.dispose();
    expect((await running)[0]?.paths).toBe(2);
    await expect(m.forecast([request(40, 1, 2)])).rejects.toThrow(KronosDisposedError);
  });
});
