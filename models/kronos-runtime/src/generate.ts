import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { concatColumns, gatherRows, sliceColumns } from './batch.js';
import type { GraphName, KronosSpec } from './card.js';
import { KronosRunError } from './errors.js';
import { FEATURE_COUNT, STAMP_COUNT } from './preprocess.js';
import { createRng, type Rng } from './rng.js';
import { type SamplingParams, TokenSampler } from './sampling.js';
import type { KronosSessions } from './sessions.js';

/**
 * The autoregressive loop of upstream `auto_regressive_inference`, for several series with S sample
 * paths each, all in one batch (one row per path):
 *  - encode the lookback once; each step feeds the last min(L, max_context) tokens with the stamps
 *    of the same bars, samples s1 from the last position, then s2 given that s1, and appends both;
 *  - decode the last min(T + P, max_context) tokens once and keep the last P rows.
 * Every path of a series starts from the same history, so the encoding and the first predictor pass
 * (the prefill) run once per series and are copied to its paths (`prefill: 'shared'`). With
 * `cache: 'auto'` the predictor runs on the new token alone with cached keys and values while the
 * window has not slid (positions are absolute from 0, so this equals the full recompute); once it
 * slides, RoPE restarts at 0 and every step recomputes the whole window, as upstream does.
 */
export type CacheMode = 'auto' | 'recompute';
export type PrefillMode = 'shared' | 'per-path';

export interface GenerationGroup {
  /** [T, 6] normalized and clipped lookback. */
  x: Float32Array;
  /** [T + P, 5] stamps of the lookback bars, then of the forecast bars. */
  stamps: BigInt64Array;
  paths: number;
  sampling: SamplingParams;
  seed: number;
}

export interface GenerationSettings {
  lookback: number;
  horizon: number;
  maxContext: number;
  cache: CacheMode;
  prefill: PrefillMode;
}

export interface GenerationTimings {
  encodeMs: number;
  /** The first predictor pass over the history. */
  prefillMs: number;
  /** Everything after it: predictor steps, s2 heads, sampling. */
  stepsMs: number;
  samplingMs: number;
  decodeMs: number;
  totalMs: number;
}

export interface GroupTokens {
  /** [paths, P] generated sub-tokens. */
  s1: Int32Array;
  s2: Int32Array;
  /** [paths, P, 6] decoded, still normalized. */
  decoded: Float32Array;
}

export interface GenerationResult {
  groups: GroupTokens[];
  timings: GenerationTimings;
  /** Steps served by the KV cache and steps that recomputed the window. */
  steps: { cached: number; recomputed: number };
  rows: number;
}

interface KvState {
  k: Tensor;
  v: Tensor;
  /** [rows, ctxLen, d]: the trunk output of every position so far (the s2 head attends to all of them). */
  ctx: Float32Array;
  ctxLen: number;
  logits: Float32Array;
}

type Feeds = Record<string, Tensor>;

async function run(sessions: KronosSessions, graph: GraphName, feeds: Feeds): Promise<InferenceSession.ReturnType> {
  try {
    return await sessions[graph].run(feeds);
  } catch (err) {
    throw new KronosRunError(graph, err);
  }
}

const i64 = (data: BigInt64Array, dims: number[]) => new Tensor('int64', data, dims);
const f32 = (data: Float32Array, dims: number[]) => new Tensor('float32', data, dims);
const floatData = (t: Tensor | undefined) => t?.data as Float32Array;

/** One batch: the token buffers, the per-row bookkeeping and the loop state. */
class Generation {
  readonly rows: number;
  readonly total: number;
  /** Group of each row, the first row of each group, and each row's index inside its group. */
  readonly rowGroup: Int32Array;
  readonly firstRow: Int32Array;
  readonly rowPath: Int32Array;
  /** [rows, T + P] token ids (history, then generated). */
  readonly s1: BigInt64Array;
  readonly s2: BigInt64Array;
  readonly rngs: Rng[];
  readonly timings: GenerationTimings = { encodeMs: 0, prefillMs: 0, stepsMs: 0, samplingMs: 0, decodeMs: 0, totalMs: 0 };
  readonly steps = { cached: 0, recomputed: 0 };
  readonly #sampler1: TokenSampler;
  readonly #sampler2: TokenSampler;

  constructor(
    readonly sessions: KronosSessions,
    readonly spec: KronosSpec,
    readonly groups: readonly GenerationGroup[],
    readonly settings: GenerationSettings,
  ) {
    this.rows = groups.reduce((n, g) => n + g.paths, 0);
    this.total = settings.lookback + settings.horizon;
    this.rowGroup = new Int32Array(this.rows);
    this.rowPath = new Int32Array(this.rows);
    this.firstRow = new Int32Array(groups.length);
    this.rngs = [];
    let row = 0;
    groups.forEach((g, gi) => {
      this.firstRow[gi] = row;
      for (let p = 0; p < g.paths; p++, row++) {
        this.rowGroup[row] = gi;
        this.rowPath[row] = p;
        this.rngs.push(createRng(g.seed, p));
      }
    });
    this.s1 = new BigInt64Array(this.rows * this.total);
    this.s2 = new BigInt64Array(this.rows * this.total);
    this.#sampler1 = new TokenSampler(spec.vocabS1);
    this.#sampler2 = new TokenSampler(spec.vocabS2);
  }

  /** Encodes the lookbacks (once per group when shared) and fills every row's history tokens. */
  async encode(): Promise<void> {
    const T = this.settings.lookback;
    const shared = this.settings.prefill === 'shared';
    const sources = shared ? this.groups.map((_, g) => g) : Array.from(this.rowGroup);
    const x = new Float32Array(sources.length * T * FEATURE_COUNT);
    sources.forEach((g, r) => {
      x.set((this.groups[g] as GenerationGroup).x, r * T * FEATURE_COUNT);
    });
    const out = await run(this.sessions, 'tokenizer_encode', { x: f32(x, [sources.length, T, FEATURE_COUNT]) });
    const s1 = out.s1?.data as BigInt64Array;
    const s2 = out.s2?.data as BigInt64Array;
    for (let b = 0; b < this.rows; b++) {
      const src = shared ? (this.rowGroup[b] as number) : b;
      this.s1.set(s1.subarray(src * T, (src + 1) * T), b * this.total);
      this.s2.set(s2.subarray(src * T, (src + 1) * T), b * this.total);
    }
  }

  /** Stamps [rows.length, end - start, 5] of the given rows' groups. */
  stampWindow(rows: ArrayLike<number>, start: number, end: number): BigInt64Array {
    const n = end - start;
    const out = new BigInt64Array(rows.length * n * STAMP_COUNT);
    for (let r = 0; r < rows.length; r++) {
      const stamps = (this.groups[this.rowGroup[rows[r] as number] as number] as GenerationGroup).stamps;
      out.set(stamps.subarray(start * STAMP_COUNT, end * STAMP_COUNT), r * n * STAMP_COUNT);
    }
    return out;
  }

  /** Runs predictor_s1 on the window [start, end) of the given rows. */
  async predictWindow(rows: ArrayLike<number>, start: number, end: number): Promise<InferenceSession.ReturnType> {
    const n = end - start;
    const pick = (buf: BigInt64Array) =>
      sliceColumns(gatherRows(buf, 1, this.rows, this.total, rows), rows.length, this.total, 1, start, end);
    return run(this.sessions, 'predictor_s1', {
      s1: i64(pick(this.s1), [rows.length, n]),
      s2: i64(pick(this.s2), [rows.length, n]),
      stamp: i64(this.stampWindow(rows, start, end), [rows.length, n, STAMP_COUNT]),
    });
  }

  /** Samples one sub-token per row from [rows, V] logits. */
  sample(logits: Float32Array, which: 1 | 2): BigInt64Array {
    const started = performance.now();
    const sampler = which === 1 ? this.#sampler1 : this.#sampler2;
    const out = new BigInt64Array(this.rows);
    for (let b = 0; b < this.rows; b++) {
      const group = this.groups[this.rowGroup[b] as number] as GenerationGroup;
      out[b] = BigInt(sampler.sample(logits, b * sampler.vocab, group.sampling, this.rngs[b] as Rng));
    }
    this.timings.samplingMs += performance.now() - started;
    return out;
  }

  async step(i: number, kv: KvState | undefined): Promise<KvState | undefined> {
    const { lookback: T, horizon: P, maxContext } = this.settings;
    const d = this.spec.dModel;
    const L = T + i;
    const start = Math.max(0, L - maxContext);
    const n = L - start;
    const cacheable = this.settings.cache === 'auto' && L <= maxContext;
    let cache = cacheable ? kv : undefined;
    let view: Pick<KvState, 'logits' | 'ctx' | 'ctxLen'>;
    if (cache) {
      this.steps.cached++;
      view = cache;
    } else {
      this.steps.recomputed++;
      const started = performance.now();
      // The first window is the history alone, identical for every path of a group: run it once per group.
      const shareFirst = i === 0 && this.settings.prefill === 'shared';
      const rows = shareFirst ? this.firstRow : Int32Array.from({ length: this.rows }, (_, b) => b);
      const out = await this.predictWindow(rows, start, L);
      const tile = (t: Tensor | undefined, outer: number, inner: number): Float32Array =>
        shareFirst ? gatherRows(floatData(t), outer, rows.length, inner, this.rowGroup) : floatData(t);
      view = { logits: tile(out.s1_logits, 1, this.spec.vocabS1), ctx: tile(out.ctx, 1, n * d), ctxLen: n };
      if (cacheable) {
        const { nLayers, nHeads } = this.spec;
        const dims = [nLayers, this.rows, nHeads, n, d / nHeads];
        cache = { ...view, k: f32(tile(out.present_k, nLayers, n * d), dims), v: f32(tile(out.present_v, nLayers, n * d), dims) };
      }
      if (i === 0) this.timings.prefillMs += performance.now() - started;
    }
    const next1 = this.sample(view.logits, 1);
    const s2out = await run(this.sessions, 'predictor_s2', {
      ctx: f32(view.ctx, [this.rows, view.ctxLen, d]),
      s1: i64(next1, [this.rows]),
    });
    const next2 = this.sample(floatData(s2out.s2_logits), 2);
    for (let b = 0; b < this.rows; b++) {
      this.s1[b * this.total + L] = next1[b] as bigint;
      this.s2[b * this.total + L] = next2[b] as bigint;
    }
    if (!cache || L + 1 > maxContext || i + 1 >= P) return undefined;
    // Feed the token just chosen, with its bar's stamp, through the cached trunk.
    const all = Int32Array.from({ length: this.rows }, (_, b) => b);
    const out = await run(this.sessions, 'predictor_s1_kv', {
      s1: i64(next1, [this.rows, 1]),
      s2: i64(next2, [this.rows, 1]),
      stamp: i64(this.stampWindow(all, L, L + 1), [this.rows, 1, STAMP_COUNT]),
      past_k: cache.k,
      past_v: cache.v,
    });
    return {
      k: out.present_k as Tensor,
      v: out.present_v as Tensor,
      ctx: concatColumns(cache.ctx, cache.ctxLen, floatData(out.ctx), 1, this.rows, d),
      ctxLen: cache.ctxLen + 1,
      logits: floatData(out.s1_logits),
    };
  }

  async decode(): Promise<GroupTokens[]> {
    const { lookback: T, horizon: P, maxContext } = this.settings;
    const start = Math.max(0, this.total - maxContext);
    const n = this.total - start;
    const out = await run(this.sessions, 'tokenizer_decode', {
      s1: i64(sliceColumns(this.s1, this.rows, this.total, 1, start, this.total), [this.rows, n]),
      s2: i64(sliceColumns(this.s2, this.rows, this.total, 1, start, this.total), [this.rows, n]),
    });
    const decoded = sliceColumns(floatData(out.x), this.rows, n, FEATURE_COUNT, n - P, n);
    const generated1 = sliceColumns(this.s1, this.rows, this.total, 1, T, this.total);
    const generated2 = sliceColumns(this.s2, this.rows, this.total, 1, T, this.total);
    return this.groups.map((g, gi) => {
      const from = this.firstRow[gi] as number;
      const to = from + g.paths;
      return {
        s1: Int32Array.from(generated1.subarray(from * P, to * P), Number),
        s2: Int32Array.from(generated2.subarray(from * P, to * P), Number),
        decoded: decoded.slice(from * P * FEATURE_COUNT, to * P * FEATURE_COUNT),
      };
    });
  }
}

/** Runs the loop for groups sharing one lookback length and horizon. */
export async function generate(
  sessions: KronosSessions,
  spec: KronosSpec,
  groups: readonly GenerationGroup[],
  settings: GenerationSettings,
): Promise<GenerationResult> {
  const started = performance.now();
  const gen = new Generation(sessions, spec, groups, settings);
  await gen.encode();
  gen.timings.encodeMs = performance.now() - started;
  const loopStarted = performance.now();
  let kv: KvState | undefined;
  for (let i = 0; i < settings.horizon; i++) kv = await gen.step(i, kv);
  gen.timings.stepsMs = performance.now() - loopStarted - gen.timings.prefillMs;
  const decodeStarted = performance.now();
  const out = await gen.decode();
  gen.timings.decodeMs = performance.now() - decodeStarted;
  gen.timings.totalMs = performance.now() - started;
  return { groups: out, timings: gen.timings, steps: gen.steps, rows: gen.rows };
}
