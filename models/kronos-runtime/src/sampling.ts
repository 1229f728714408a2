import { KronosInputError } from './errors.js';
import type { Rng } from './rng.js';

/**
 * Token sampling as upstream `sample_from_logits` / `top_k_top_p_filtering` define it, applied the
 * same way to s1 and s2: divide the logits by the temperature; with top-k > 0 keep the logits at or
 * above the k-th largest (top-p is then ignored); otherwise with top-p < 1 keep the most likely
 * tokens up to and including the first whose cumulative probability exceeds p; softmax; draw.
 * top-k = 1 is greedy decoding (argmax), the only mode comparable token for token with PyTorch.
 */
export interface SamplingParams {
  /** > 0. */
  temperature: number;
  /** 0 turns it off; 1 is greedy. */
  topK: number;
  /** In (0, 1]; 1 turns it off. */
  topP: number;
}

export const GREEDY: SamplingParams = Object.freeze({ temperature: 1, topK: 1, topP: 1 });

export function checkSampling(params: SamplingParams): void {
  if (!(params.temperature > 0) || !Number.isFinite(params.temperature)) {
    throw new KronosInputError(`temperature must be > 0, got ${params.temperature}`);
  }
  if (!Number.isInteger(params.topK) || params.topK < 0) throw new KronosInputError(`topK must be an integer ≥ 0, got ${params.topK}`);
  if (!(params.topP > 0 && params.topP <= 1)) throw new KronosInputError(`topP must be in (0, 1], got ${params.topP}`);
}

/** Index of the largest logit in `logits[offset, offset + size)`; the first one on ties (as torch.argmax). */
export function argmaxRow(logits: Float32Array, offset: number, size: number): number {
  let best = 0;
  let bestValue = logits[offset] as number;
  for (let i = 1; i < size; i++) {
    const v = logits[offset + i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Samples rows of logits with reusable scratch space (one per vocabulary size). */
export class TokenSampler {
  readonly #scaled: Float64Array;
  readonly #sorted: Float64Array;
  readonly #probs: Float64Array;

  constructor(readonly vocab: number) {
    this.#scaled = new Float64Array(vocab);
    this.#sorted = new Float64Array(vocab);
    this.#probs = new Float64Array(vocab);
  }

  /** Draws one token id from the row at `offset`. */
  sample(logits: Float32Array, offset: number, params: SamplingParams, rng: Rng): number {
    if (params.topK === 1) return argmaxRow(logits, offset, this.vocab);
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
    return last; // rounding left a sliver of mass: the last token with any probability
  }

  /**
   * The filtered distribution the sampler draws from (a view into scratch space, valid until the
   * next call). Tokens removed by top-k or top-p have probability exactly 0.
   */
  distribution(logits: Float32Array, offset: number, params: SamplingParams): Float64Array {
    const V = this.vocab;
    const scaled = this.#scaled;
    const probs = this.#probs;
    for (let i = 0; i < V; i++) scaled[i] = (logits[offset + i] as number) / params.temperature;
    if (params.topK > 0) {
      const kth = this.#kthLargest(scaled, Math.min(params.topK, V));
      for (let i = 0; i < V; i++) if ((scaled[i] as number) < kth) scaled[i] = Number.NEGATIVE_INFINITY;
      softmaxInto(scaled, probs);
    } else {
      softmaxInto(scaled, probs);
      // The nucleus is a renormalized subset of the same softmax: no second pass of exponentials.
      if (params.topP < 1) renormalizeAbove(probs, this.#nucleusThreshold(probs, params.topP));
    }
    return probs;
  }

  #kthLargest(values: Float64Array, k: number): number {
    this.#sorted.set(values);
    this.#sorted.sort();
    return this.#sorted[this.vocab - k] as number;
  }

  /** Probability of the first token (most likely first) at which the cumulative mass exceeds p. */
  #nucleusThreshold(probs: Float64Array, topP: number): number {
    const sorted = this.#sorted;
    sorted.set(probs);
    sorted.sort();
    let cumulative = 0;
    for (let j = this.vocab - 1; j >= 0; j--) {
      cumulative += sorted[j] as number;
      if (cumulative > topP) return sorted[j] as number;
    }
    return 0;
  }
}

/** Zeroes the probabilities below `threshold` and rescales the rest to sum to 1. */
function renormalizeAbove(probs: Float64Array, threshold: number): void {
  let kept = 0;
  for (let i = 0; i < probs.length; i++) {
    if ((probs[i] as number) < threshold) probs[i] = 0;
    else kept += probs[i] as number;
  }
  for (let i = 0; i < probs.length; i++) probs[i] = (probs[i] as number) / kept;
}

/** Softmax of `logits` into `out` (−∞ entries get exactly 0). */
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
