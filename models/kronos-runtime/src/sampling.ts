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

/** True where a Float64Array's high 32-bit word is the odd Uint32 (little-endian: every machine this runs on). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/**
 * Buckets of the nucleus search: probabilities are keyed by the top 32 bits of their float64 (sign,
 * exponent, then mantissa: for non-negative doubles these order like the values), keeping
 * BUCKET_BITS mantissa bits (32 buckets an octave), over BUCKET_OCTAVES octaves below the largest
 * probability; everything smaller shares the last bucket.
 */
const BUCKET_BITS = 5;
const BUCKET_OCTAVES = 24;
const BUCKETS = (BUCKET_OCTAVES << BUCKET_BITS) + 1;
/** Far above the rounding of any sum of a vocabulary's probabilities (V × 2^−53 ≈ 1e−13 for V = 1024). */
const MASS_MARGIN = 1e-9;
/** Buckets up to this size are sorted by insertion; larger ones by the built-in sort. */
const INSERTION_MAX = 24;

/**
 * Samples rows of logits with reusable scratch space (one per vocabulary size): no allocation per
 * call. The top-p nucleus is found without sorting the whole vocabulary (a bucket pass over the
 * probabilities' float64 bits, then only the buckets the nucleus reaches are sorted, largest
 * first), and top-k by selection; both visit the same values in the same order as a full sort, so
 * the threshold, the distribution and every draw are bit for bit those of sorting (tested against
 * the full-sort implementation).
 */
export class TokenSampler {
  readonly #scaled: Float64Array;
  readonly #probs: Float64Array;
  /** The probabilities' words (high word of entry i at 2i + 1), for the bucket keys. */
  readonly #words: Uint32Array;
  /** Scratch: bucket of each entry, bucket starts/ends, and the entries ordered by bucket. */
  readonly #bucketOf: Int32Array;
  readonly #bucketEnd: Int32Array;
  readonly #ordered: Float64Array;
  /** Scratch: the probability mass of each bucket. */
  readonly #mass: Float64Array;

  constructor(readonly vocab: number) {
    this.#scaled = new Float64Array(vocab);
    this.#probs = new Float64Array(vocab);
    this.#words = new Uint32Array(this.#probs.buffer);
    this.#bucketOf = new Int32Array(vocab);
    this.#bucketEnd = new Int32Array(BUCKETS);
    this.#ordered = new Float64Array(vocab);
    this.#mass = new Float64Array(BUCKETS);
  }

  /** Draws one token id from the row at `offset`. */
  sample(logits: Float32Array, offset: number, params: SamplingParams, rng: Rng): number {
    if (params.topK === 1) return argmaxRow(logits, offset, this.vocab);
    const V = this.vocab;
    const probs = this.#probs;
    const threshold = this.#filter(logits, offset, params);
    let u = rng.next();
    let last = 0;
    if (threshold < 0) {
      for (let i = 0; i < V; i++) {
        const p = probs[i] as number;
        if (p === 0) continue;
        last = i;
        u -= p;
        if (u < 0) return i;
      }
      return last; // rounding left a sliver of mass: the last token with any probability
    }
    // The nucleus renormalized on the fly, token by token as `distribution` divides them (the same
    // mass summed in the same order, the same quotients): the draw stops without a pass over the rest.
    let kept = 0;
    for (let i = 0; i < V; i++) if (!((probs[i] as number) < threshold)) kept += probs[i] as number;
    for (let i = 0; i < V; i++) {
      const p = probs[i] as number;
      if (p < threshold) continue;
      const q = p / kept;
      if (q === 0) continue;
      last = i;
      u -= q;
      if (u < 0) return i;
    }
    return last;
  }

  /**
   * The filtered distribution the sampler draws from (a view into scratch space, valid until the
   * next call). Tokens removed by top-k or top-p have probability exactly 0.
   */
  distribution(logits: Float32Array, offset: number, params: SamplingParams): Float64Array {
    const threshold = this.#filter(logits, offset, params);
    if (threshold >= 0) renormalizeAbove(this.#probs, threshold);
    return this.#probs;
  }

  /**
   * The softmax of the scaled logits into #probs, top-k applied; for top-p < 1 returns the nucleus
   * threshold (the probabilities are not yet renormalized), otherwise −1.
   */
  #filter(logits: Float32Array, offset: number, params: SamplingParams): number {
    const V = this.vocab;
    const scaled = this.#scaled;
    const probs = this.#probs;
    const temperature = params.temperature;
    // The largest scaled logit comes with the copy (top-k keeps it, so it stays the softmax's max).
    let max = Number.NEGATIVE_INFINITY;
    let largest = 0;
    for (let i = 0; i < V; i++) {
      // x / 1 is x exactly: no division at temperature 1.
      const x = temperature === 1 ? (logits[offset + i] as number) : (logits[offset + i] as number) / temperature;
      scaled[i] = x;
      if (x > max) {
        max = x;
        largest = i;
      }
    }
    if (params.topK > 0) {
      const kth = this.#kthLargest(scaled, Math.min(params.topK, V));
      for (let i = 0; i < V; i++) if ((scaled[i] as number) < kth) scaled[i] = Number.NEGATIVE_INFINITY;
      softmaxInto(scaled, probs, max);
      return -1;
    }
    softmaxInto(scaled, probs, max);
    // The nucleus is a renormalized subset of the same softmax: no second pass of exponentials.
    return params.topP < 1 ? this.#nucleusThreshold(probs, params.topP, largest) : -1;
  }

  /** The k-th largest value (what ascending sort()[V − k] holds), by selection on a copy. */
  #kthLargest(values: Float64Array, k: number): number {
    const a = this.#ordered;
    a.set(values);
    for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return sortedAt(a, a.length - k); // NaN sorts last: keep sort's answer
    return select(a, a.length - k);
  }

  /**
   * Probability of the first token (most likely first) at which the cumulative mass exceeds p,
   * summed in descending order exactly as over a fully sorted copy. Usually decided from the
   * buckets' masses and one sorted bucket (#nucleusByMass); where that cannot be sure, by sorting
   * every bucket the nucleus reaches (#nucleusExact).
   */
  #nucleusThreshold(probs: Float64Array, topP: number, largest: number): number {
    const fast = this.#nucleusByMass(probs, topP, largest);
    return fast >= 0 ? fast : this.#nucleusExact(probs, topP);
  }

  /**
   * The threshold from bucket masses, or −1 when undecided. Sums in another order differ from the
   * descending-order sum by at most about V × 2^−53 (all terms non-negative, total ≤ 1); so when the
   * cumulative mass before a candidate token is below p − MASS_MARGIN and after it above
   * p + MASS_MARGIN, the descending sum crosses p at the same token. Only the bucket where the
   * crossing lies is sorted. Anything else (a crossing within the margin, the tail bucket, NaN)
   * is left to the exact method.
   */
  #nucleusByMass(probs: Float64Array, topP: number, largest: number): number {
    const V = this.vocab;
    const words = this.#words;
    const bucketOf = this.#bucketOf;
    const mass = this.#mass; // all zero between calls
    const ordered = this.#ordered;
    const shift = 20 - BUCKET_BITS;
    const last = BUCKETS - 1;
    // The largest probability is the largest logit's (the softmax is monotone): the top bucket.
    const topWord = words[2 * largest + 1] as number;
    if (!LITTLE_ENDIAN || topWord >= 0x7ff00000) return -1;
    const top = topWord >>> shift;
    let used = 0;
    let undecided = false;
    for (let i = 0; i < V; i++) {
      const hi = words[2 * i + 1] as number;
      const key = hi >>> shift;
      if (hi >= 0x7ff00000 || key > top) {
        undecided = true; // NaN or a sign bit: not keyed
        break;
      }
      let b = top - key;
      if (b > last) b = last;
      bucketOf[i] = b;
      mass[b] = (mass[b] as number) + (probs[i] as number);
      if (b > used) used = b;
    }
    let before = 0;
    let cut = -1;
    for (let b = 0; b <= used && !undecided; b++) {
      const m = mass[b] as number;
      if (before + m > topP) {
        cut = b;
        break;
      }
      before += m;
    }
    mass.fill(0, 0, used + 1);
    if (undecided || cut < 0 || cut === last) return -1;
    let n = 0;
    for (let i = 0; i < V; i++) if (bucketOf[i] === cut) ordered[n++] = probs[i] as number;
    sortDescending(ordered, 0, n);
    let cumulative = before;
    for (let j = 0; j < n; j++) {
      const next = cumulative + (ordered[j] as number);
      if (next > topP) return cumulative < topP - MASS_MARGIN && next > topP + MASS_MARGIN ? (ordered[j] as number) : -1;
      cumulative = next;
    }
    return -1;
  }

  /** The threshold by sorting every bucket up to the crossing, summed exactly as the full sort sums. */
  #nucleusExact(probs: Float64Array, topP: number): number {
    const V = this.vocab;
    const words = this.#words;
    const bucketOf = this.#bucketOf;
    const end = this.#bucketEnd;
    const ordered = this.#ordered;
    const shift = 20 - BUCKET_BITS;
    let top = 0;
    for (let i = 0; i < V; i++) {
      const hi = words[2 * i + 1] as number;
      // Not a finite non-negative number (NaN, or a sign bit): the full sort decides, as before.
      if (!LITTLE_ENDIAN || hi >= 0x7ff00000) return sortedThreshold(ordered, probs, topP);
      const key = hi >>> shift;
      bucketOf[i] = key;
      if (key > top) top = key;
    }
    end.fill(0);
    for (let i = 0; i < V; i++) {
      const b = Math.min(top - (bucketOf[i] as number), BUCKETS - 1);
      bucketOf[i] = b;
      end[b] = (end[b] as number) + 1;
    }
    let at = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const n = end[b] as number;
      end[b] = at;
      at += n;
    }
    for (let i = 0; i < V; i++) {
      const b = bucketOf[i] as number;
      const slot = end[b] as number;
      ordered[slot] = probs[i] as number;
      end[b] = slot + 1;
    }
    // end[b] is now where bucket b ends; buckets run from the largest values down.
    let cumulative = 0;
    let from = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const to = end[b] as number;
      if (to === from) continue;
      sortDescending(ordered, from, to);
      for (let j = from; j < to; j++) {
        cumulative += ordered[j] as number;
        if (cumulative > topP) return ordered[j] as number;
      }
      from = to;
    }
    return 0;
  }
}

/** The nucleus threshold over a fully sorted copy (the reference; used for inputs the buckets do not key). */
function sortedThreshold(scratch: Float64Array, probs: Float64Array, topP: number): number {
  scratch.set(probs);
  scratch.sort();
  let cumulative = 0;
  for (let j = scratch.length - 1; j >= 0; j--) {
    cumulative += scratch[j] as number;
    if (cumulative > topP) return scratch[j] as number;
  }
  return 0;
}

function sortedAt(a: Float64Array, index: number): number {
  a.sort();
  return a[index] as number;
}

/** a[from, to) in descending order (a bucket: small, or the last one, which holds the long tail). */
function sortDescending(a: Float64Array, from: number, to: number): void {
  if (to - from > INSERTION_MAX) {
    const part = a.subarray(from, to);
    part.sort();
    part.reverse();
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= from && (a[j] as number) < v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
}

/** The value ascending order puts at `index` (Hoare's selection, in place; no NaN in `a`). */
function select(a: Float64Array, index: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (index <= j) hi = j;
    else if (index >= i) lo = i;
    else return a[index] as number;
  }
  return a[index] as number;
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

/** Softmax of `logits` (whose largest value is `max`) into `out` (−∞ entries get exactly 0). */
function softmaxInto(logits: Float64Array, out: Float64Array, max: number): void {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) out[i] = (out[i] as number) / sum;
}
