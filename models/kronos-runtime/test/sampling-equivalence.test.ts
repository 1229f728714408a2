import { describe, expect, it } from 'vitest';
import { createRng, type Rng, type SamplingParams, TokenSampler } from '../src/index.js';

/**
 * The sampler before the partial nucleus search (issue 17): the whole vocabulary sorted for top-p and
 * for top-k. The fast sampler must give the same distribution bit for bit and the same draws.
 */
class FullSortSampler {
  readonly #scaled: Float64Array;
  readonly #sorted: Float64Array;
  readonly #probs: Float64Array;

  constructor(readonly vocab: number) {
    this.#scaled = new Float64Array(vocab);
    this.#sorted = new Float64Array(vocab);
    this.#probs = new Float64Array(vocab);
  }

  sample(logits: Float32Array, offset: number, params: SamplingParams, rng: Rng): number {
    const probs = this.distribution(logits, offset, params);
    let u = rng.next();
    let last = 0;
    for (let i = 0; i < this.vocab; i++) {
      const p = probs[i] as number;
      if (p === 0) continue;
      last = i;
      u -= p;
      if (u < 0) return i;
    }
    return last;
  }

  distribution(logits: Float32Array, offset: number, params: SamplingParams): Float64Array {
    const V = this.vocab;
    const scaled = this.#scaled;
    const probs = this.#probs;
    for (let i = 0; i < V; i++) scaled[i] = (logits[offset + i] as number) / params.temperature;
    if (params.topK > 0) {
      this.#sorted.set(scaled);
      this.#sorted.sort();
      const kth = this.#sorted[V - Math.min(params.topK, V)] as number;
      for (let i = 0; i < V; i++) if ((scaled[i] as number) < kth) scaled[i] = Number.NEGATIVE_INFINITY;
      softmaxInto(scaled, probs);
    } else {
      softmaxInto(scaled, probs);
      if (params.topP < 1) {
        const sorted = this.#sorted;
        sorted.set(probs);
        sorted.sort();
        let cumulative = 0;
        let threshold = 0;
        for (let j = V - 1; j >= 0; j--) {
          cumulative += sorted[j] as number;
          if (cumulative > params.topP) {
            threshold = sorted[j] as number;
            break;
          }
        }
        let kept = 0;
        for (let i = 0; i < V; i++) {
          if ((probs[i] as number) < threshold) probs[i] = 0;
          else kept += probs[i] as number;
        }
        for (let i = 0; i < V; i++) probs[i] = (probs[i] as number) / kept;
      }
    }
    return probs;
  }
}

function softmaxInto(logits: Float64Array, out: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if ((logits[i] as number) > max) max = logits[i] as number;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) out[i] = (out[i] as number) / sum;
}

/** Rows of logits of many kinds: flat, spread, peaked, heavy ties, −∞ entries, one dominant token. */
function rows(V: number, count: number, seed: number): Float32Array[] {
  const rng = createRng(seed, V);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const out: Float32Array[] = [];
  for (let r = 0; r < count; r++) {
    const kind = r % 7;
    const scale = [0.05, 1, 3, 8, 1, 2, 30][kind] as number;
    const row = Float32Array.from({ length: V }, () => scale * gauss());
    if (kind === 4) for (let i = 0; i < V; i++) row[i] = Math.round((row[i] as number) * 2) / 2; // many exact ties
    if (kind === 5) for (let i = 0; i < V; i += 3) row[i] = Number.NEGATIVE_INFINITY;
    if (kind === 6) row[Math.floor(rng.next() * V)] = 200; // one token holds nearly all the mass
    out.push(row);
  }
  return out;
}

/** Rows per vocabulary size (a multiple of the 7 kinds), fewer for the large one to keep the test quick. */
const count = (V: number) => (V >= 1024 ? 56 : V > 7 ? 140 : 700);

const same = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('partial nucleus search and top-k selection against the full sort', () => {
  const settings: SamplingParams[] = [];
  for (const temperature of [1, 0.7, 1.6])
    for (const topP of [0.01, 0.3, 0.9, 0.99, 0.999999, 1]) settings.push({ temperature, topK: 0, topP });
  for (const topK of [2, 5, 40, 300]) settings.push({ temperature: 0.8, topK, topP: 0.9 });

  for (const V of [1, 2, 3, 7, 256, 1024]) {
    it(`vocabulary ${V}: identical distributions and draws over ${count(V)} rows × ${settings.length} settings`, () => {
      const fast = new TokenSampler(V);
      const reference = new FullSortSampler(V);
      const data = rows(V, count(V), 3);
      let compared = 0;
      let partialNuclei = 0;
      for (const [r, row] of data.entries()) {
        for (const [s, params] of settings.entries()) {
          const want = Float64Array.from(reference.distribution(row, 0, params));
          const got = fast.distribution(row, 0, params);
          if (!same(got, want)) expect.fail(`row ${r} (kind ${r % 7}), ${JSON.stringify(params)}: distributions differ`);
          if (params.topK === 0 && params.topP < 1 && want.some((p) => p === 0)) partialNuclei++;
          const a = createRng(r, s);
          const b = createRng(r, s);
          for (let d = 0; d < 8; d++) {
            const x = fast.sample(row, 0, params, a);
            const y = reference.sample(row, 0, params, b);
            if (x !== y) expect.fail(`row ${r}, ${JSON.stringify(params)}, draw ${d}: ${x} against ${y}`);
          }
          compared++;
        }
      }
      expect(compared).toBe(data.length * settings.length);
      // The comparison exercised real cuts, not only "keep everything".
      if (V > 3) expect(partialNuclei).toBeGreaterThan(data.length);
    });
  }

  it('reads a row at an offset inside a batch of logits, the same as the full sort', () => {
    const V = 256;
    const batch = new Float32Array(4 * V);
    rows(V, 4, 9).forEach((r, i) => {
      batch.set(r, i * V);
    });
    const fast = new TokenSampler(V);
    const reference = new FullSortSampler(V);
    for (let b = 0; b < 4; b++) {
      const params = { temperature: 1, topK: 0, topP: 0.9 };
      expect(same(fast.distribution(batch, b * V, params), Float64Array.from(reference.distribution(batch, b * V, params)))).toBe(true);
    }
  });

  it('falls back to the full sort for rows with NaN, with the same result', () => {
    const row = Float32Array.from([0.5, Number.NaN, 1, 2, -1, 0.25, 3, 0]);
    const fast = new TokenSampler(row.length);
    const reference = new FullSortSampler(row.length);
    for (const params of [
      { temperature: 1, topK: 0, topP: 0.9 },
      { temperature: 1, topK: 3, topP: 1 },
    ]) {
      expect(same(fast.distribution(row, 0, params), Float64Array.from(reference.distribution(row, 0, params)))).toBe(true);
    }
  });
});

describe('nucleus where the cumulative mass meets p exactly (the margin case)', () => {
  it('decides ties of the cumulative mass with p as the full sort does', () => {
    // Probabilities 1/2, 1/4, 1/8, 1/8 (and shuffled): the running sums hit 0.5, 0.75 and 0.875 exactly.
    const rowsOf = [
      [Math.log(4), Math.log(2), 0, 0],
      [0, Math.log(2), 0, Math.log(4)],
      [0, 0, 0, 0, Math.log(8), Math.log(8)],
    ];
    for (const values of rowsOf) {
      const row = Float32Array.from(values);
      const fast = new TokenSampler(row.length);
      const reference = new FullSortSampler(row.length);
      for (const topP of [0.25, 0.5, 0.5 + 1e-12, 0.5 - 1e-12, 0.75, 0.875, 0.9375, 0.999]) {
        const params = { temperature: 1, topK: 0, topP };
        const want = Float64Array.from(reference.distribution(row, 0, params));
        expect(same(fast.distribution(row, 0, params), want), `${values.join(',')} at p ${topP}`).toBe(true);
      }
    }
  });
});
