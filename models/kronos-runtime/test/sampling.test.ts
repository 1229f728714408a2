import { describe, expect, it } from 'vitest';
import { argmaxRow, checkSampling, createRng, KronosInputError, TokenSampler } from '../src/index.js';

const logits = (...values: number[]) => Float32Array.from(values);
const kept = (probs: Float64Array) => Array.from(probs, (p, i) => (p > 0 ? i : -1)).filter((i) => i >= 0);

describe('sampling rules (upstream top_k_top_p_filtering)', () => {
  it('greedy (top-k 1) is the argmax, first index on ties', () => {
    const sampler = new TokenSampler(4);
    expect(sampler.sample(logits(0.1, 3, 3, -1), 0, { temperature: 0.5, topK: 1, topP: 0.9 }, createRng(1))).toBe(1);
    expect(argmaxRow(logits(9, 0, 1, 8, 8, 2), 2, 4)).toBe(1);
  });

  it('temperature divides the logits before the softmax', () => {
    const sampler = new TokenSampler(2);
    const p1 = Array.from(sampler.distribution(logits(0, Math.log(3)), 0, { temperature: 1, topK: 0, topP: 1 }));
    expect(p1[1]).toBeCloseTo(0.75, 6);
    const p2 = Array.from(sampler.distribution(logits(0, Math.log(3)), 0, { temperature: 2, topK: 0, topP: 1 }));
    expect(p2[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 6);
  });

  it('top-k keeps the logits at or above the k-th largest (ties at the edge stay) and ignores top-p', () => {
    const sampler = new TokenSampler(6);
    const row = logits(1, 5, 3, 3, 0, 4);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 2, topP: 0.1 }))).toEqual([1, 5]);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 3, topP: 1 }))).toEqual([1, 2, 3, 5]);
    const p = sampler.distribution(row, 0, { temperature: 1, topK: 2, topP: 1 });
    expect(p[1]).toBeCloseTo(Math.E / (Math.E + 1), 12);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 99, topP: 1 }))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-p keeps the most likely tokens up to and including the first that crosses p', () => {
    const sampler = new TokenSampler(4);
    // probabilities 0.5, 0.3, 0.15, 0.05 (as logits of their logs)
    const row = logits(...[0.15, 0.5, 0.05, 0.3].map(Math.log));
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 0, topP: 0.55 }))).toEqual([1, 3]);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 0, topP: 0.45 }))).toEqual([1]);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 0, topP: 0.81 }))).toEqual([0, 1, 3]);
    expect(kept(sampler.distribution(row, 0, { temperature: 1, topK: 0, topP: 1 }))).toEqual([0, 1, 2, 3]);
    const p = sampler.distribution(row, 0, { temperature: 1, topK: 0, topP: 0.7 });
    expect(p[1]).toBeCloseTo(0.5 / 0.8, 6);
    expect(p[3]).toBeCloseTo(0.3 / 0.8, 6);
  });

  it('draws tokens with the filtered probabilities (seeded, 40,000 draws)', () => {
    const sampler = new TokenSampler(4);
    const row = logits(...[0.1, 0.2, 0.3, 0.4].map(Math.log));
    const rng = createRng(42);
    const counts = [0, 0, 0, 0];
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const t = sampler.sample(row, 0, { temperature: 1, topK: 0, topP: 1 }, rng);
      counts[t] = (counts[t] as number) + 1;
    }
    // Binomial standard error at p = 0.4 and n = 40,000 is 0.0024: allow 4 of them.
    counts.forEach((c, i) => {
      expect(Math.abs(c / n - (i + 1) / 10)).toBeLessThan(0.01);
    });
    const filtered = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) {
      const t = sampler.sample(row, 0, { temperature: 1, topK: 0, topP: 0.5 }, rng);
      filtered[t] = (filtered[t] as number) + 1;
    }
    expect(filtered[0]).toBe(0);
    expect(filtered[1]).toBe(0);
    expect(Math.abs((filtered[3] as number) / 10_000 - 4 / 7)).toBeLessThan(0.02);
  });

  it('rejects settings outside their ranges', () => {
    expect(() => checkSampling({ temperature: 0, topK: 0, topP: 0.9 })).toThrow(KronosInputError);
    expect(() => checkSampling({ temperature: 1, topK: -1, topP: 0.9 })).toThrow(/topK/);
    expect(() => checkSampling({ temperature: 1, topK: 0, topP: 0 })).toThrow(/topP/);
    expect(() => checkSampling({ temperature: 0.6, topK: 0, topP: 0.9 })).not.toThrow();
  });
});

describe('seeded generator', () => {
  it('repeats a stream for the same seed and index and differs between streams', () => {
    const draw = (seed: number, stream: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.next()
        )(createRng(seed, stream)),
      );
    expect(draw(7, 0)).toEqual(draw(7, 0));
    expect(draw(7, 0)).not.toEqual(draw(7, 1));
    expect(draw(7, 0)).not.toEqual(draw(8, 0));
    expect(draw(2 ** 40 + 7, 0)).not.toEqual(draw(7, 0));
  });

  it('is uniform on [0, 1)', () => {
    const rng = createRng(3);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
      bins[Math.floor(u * 10)]++;
    }
    for (const b of bins) expect(Math.abs(b / 50_000 - 0.1)).toBeLessThan(0.006);
  });
});
