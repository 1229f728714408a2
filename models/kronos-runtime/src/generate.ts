import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { gatherRows, sliceColumns } from './batch.js';
import { layerTensors, PredictorCache, pickRows, SlotCache } from './cache.js';
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
 * (the prefill) run once per series (`prefill: 'shared'`): its keys and values are the history
 * cache that every path of the series reads (not copied per path). With `cache: 'auto'` each step
 * feeds only the new token: the trunk reads the history cache and the generated positions' cache
 * (buffers the runtime owns, see cache.ts; the graph returns only the new position's keys and
 * values), and the s2 head reads its cross-attention keys and values the same way. Positions are
 * absolute from 0, so this equals the full recompute while the window has not slid. Once it
 * slides, exactness allows no cache (RoPE restarts at 0 and the oldest bar leaves the window, so
 * every hidden state changes) and every step recomputes the whole window, as upstream does; the
 * result records which path served the forecast (`path`). The final decode runs the history
 * through the tokenizer's decoder once per series and only the generated bars per path.
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
  /** Parts of stepsMs: the trunk (cached steps or window recomputes) and the s2 head. */
  trunkMs: number;
  s2Ms: number;
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

/**
 * Which exact loop served a forecast. `kv-cache`: the prefill and cached steps only;
 * `recompute`: the whole window at every step (asked for, or the window slid from the first step);
 * `kv-cache-then-recompute`: cached until the window slid at `slideStep`.
 */
export type DecodePath = 'kv-cache' | 'recompute' | 'kv-cache-then-recompute';

export interface PathRecord {
  path: DecodePath;
  /** First step whose window slid (lookback + step > max context); undefined when none did. */
  slideStep: number | undefined;
  /** In words, for logs and the forecast message. */
  reason: string;
}

export interface GenerationResult {
  groups: GroupTokens[];
  timings: GenerationTimings;
  /** Steps served by the KV cache and steps that recomputed the window. */
  steps: { cached: number; recomputed: number };
  path: PathRecord;
  rows: number;
}

/** The path a forecast of these settings takes, decided before it runs (and checked against the step counts after). */
export function decodePath(settings: Pick<GenerationSettings, 'lookback' | 'horizon' | 'maxContext' | 'cache'>): PathRecord {
  const { lookback: T, horizon: P, maxContext, cache } = settings;
  const slide = T + P - 1 > maxContext ? Math.max(0, maxContext - T + 1) : undefined;
  const why = (step: number) =>
    `the window slides at step ${step} (lookback ${T} + ${step} > max context ${maxContext}): RoPE restarts at 0 and the oldest bar leaves the window, so every hidden state changes and the exact loop recomputes the whole window`;
  if (cache === 'recompute') return { path: 'recompute', slideStep: slide, reason: 'recompute was asked for' };
  if (slide === undefined)
    return { path: 'kv-cache', slideStep: undefined, reason: `lookback ${T} + horizon ${P} fits the context ${maxContext}` };
  if (slide === 0) return { path: 'recompute', slideStep: 0, reason: why(0) };
  return { path: 'kv-cache-then-recompute', slideStep: slide, reason: `cached for steps 0..${slide - 1}; ${why(slide)}` };
}

type Feeds = Record<string, Tensor>;

async function run(
  sessions: KronosSessions,
  graph: GraphName,
  feeds: Feeds,
  fetches?: readonly string[],
): Promise<InferenceSession.ReturnType> {
  try {
    return await (fetches ? sessions[graph].run(feeds, fetches) : sessions[graph].run(feeds));
  } catch (err) {
    throw new KronosRunError(graph, err);
  }
}

const i64 = (data: BigInt64Array, dims: number[]) => new Tensor('int64', data, dims);
const f32 = (data: Float32Array, dims: number[]) => new Tensor('float32', data, dims);
const floatData = (t: Tensor | undefined) => t?.data as Float32Array;
const genLen = (n: number) => i64(BigInt64Array.of(BigInt(n)), [1]);

/** What a step hands the s2 head: the s1 logits, the trunk output of the last position, and the cross-attention caches. */
interface StepView {
  logits: Float32Array;
  ctxLast: Float32Array;
  cross: Feeds;
}

/** One batch: the token buffers, the per-row bookkeeping and the loop state. */
class Generation {
  readonly rows: number;
  readonly total: number;
  /** Group of each row, the first row of each group, and each row's index inside its group. */
  readonly rowGroup: Int32Array;
  readonly firstRow: Int32Array;
  readonly rowPath: Int32Array;
  /** Rows whose history the prefill runs (one per group when shared), and which of them each row reads. */
  readonly historyRows: Int32Array;
  readonly historyOf: Int32Array;
  /** History caches can be read grouped ([G] for B = G × S rows) only when every group has the same path count. */
  readonly grouped: boolean;
  /** [rows, T + P] token ids (history, then generated). */
  readonly s1: BigInt64Array;
  readonly s2: BigInt64Array;
  readonly rngs: Rng[];
  readonly timings: GenerationTimings = {
    encodeMs: 0,
    prefillMs: 0,
    stepsMs: 0,
    trunkMs: 0,
    s2Ms: 0,
    samplingMs: 0,
    decodeMs: 0,
    totalMs: 0,
  };
  readonly steps = { cached: 0, recomputed: 0 };
  /** Every row, 0 … rows − 1. */
  readonly allRows: Int32Array;
  readonly #sampler1: TokenSampler;
  readonly #sampler2: TokenSampler;
  #cache: PredictorCache | undefined;
  #emptyCross: SlotCache | undefined;

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
    this.allRows = Int32Array.from({ length: this.rows }, (_, b) => b);
    let row = 0;
    groups.forEach((g, gi) => {
      this.firstRow[gi] = row;
      for (let p = 0; p < g.paths; p++, row++) {
        this.rowGroup[row] = gi;
        this.rowPath[row] = p;
        this.rngs.push(createRng(g.seed, p));
      }
    });
    const shared = settings.prefill === 'shared';
    this.historyRows = shared ? this.firstRow : Int32Array.from({ length: this.rows }, (_, b) => b);
    this.historyOf = shared ? this.rowGroup : (this.historyRows as Int32Array);
    this.grouped = !shared || groups.every((g) => g.paths === groups[0]?.paths);
    this.s1 = new BigInt64Array(this.rows * this.total);
    this.s2 = new BigInt64Array(this.rows * this.total);
    this.#sampler1 = new TokenSampler(spec.vocabS1);
    this.#sampler2 = new TokenSampler(spec.vocabS2);
  }

  /** Encodes the lookbacks (once per group when shared) and fills every row's history tokens. */
  async encode(): Promise<void> {
    const T = this.settings.lookback;
    const sources = Array.from(this.historyRows, (r) => this.rowGroup[r] as number);
    const x = new Float32Array(sources.length * T * FEATURE_COUNT);
    sources.forEach((g, r) => {
      x.set((this.groups[g] as GenerationGroup).x, r * T * FEATURE_COUNT);
    });
    const out = await run(this.sessions, 'tokenizer_encode', { x: f32(x, [sources.length, T, FEATURE_COUNT]) });
    const s1 = out.s1?.data as BigInt64Array;
    const s2 = out.s2?.data as BigInt64Array;
    for (let b = 0; b < this.rows; b++) {
      const src = this.historyOf[b] as number;
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

  /** Token columns [start, end) of the given rows, [rows.length, end - start]. */
  tokens(buf: BigInt64Array, rows: ArrayLike<number>, start: number, end: number): BigInt64Array {
    const n = end - start;
    const out = new BigInt64Array(rows.length * n);
    for (let r = 0; r < rows.length; r++) {
      const from = (rows[r] as number) * this.total + start;
      if (n === 1) out[r] = buf[from] as bigint;
      else out.set(buf.subarray(from, from + n), r * n);
    }
    return out;
  }

  /** Runs predictor_s1 on the window [start, end) of the given rows. */
  async predictWindow(
    rows: ArrayLike<number>,
    start: number,
    end: number,
    fetches?: readonly string[],
  ): Promise<InferenceSession.ReturnType> {
    const n = end - start;
    return run(
      this.sessions,
      'predictor_s1',
      {
        s1: i64(this.tokens(this.s1, rows, start, end), [rows.length, n]),
        s2: i64(this.tokens(this.s2, rows, start, end), [rows.length, n]),
        stamp: i64(this.stampWindow(rows, start, end), [rows.length, n, STAMP_COUNT]),
      },
      fetches,
    );
  }

  /** [historyRows, inner] rows copied out to every row that reads them. */
  tile(t: Tensor | undefined, inner: number): Float32Array {
    const data = floatData(t);
    return this.historyRows.length === this.rows ? data : gatherRows(data, 1, this.historyRows.length, inner, this.historyOf);
  }

  /** A history cache as the graphs read it: grouped, or tiled to one entry per row. */
  history(t: Tensor): Tensor {
    return this.grouped ? t : pickRows(t, this.historyOf);
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

  /** The history pass: s1 logits for the first new bar, and the caches every later step reads. */
  async prefill(): Promise<StepView> {
    const { lookback: T, horizon: P, maxContext } = this.settings;
    const { dModel: d, nHeads, vocabS1 } = this.spec;
    const out = await this.predictWindow(this.historyRows, 0, T);
    const capacity = Math.max(1, Math.min(P - 1, maxContext - T));
    const histK = layerTensors(out.present_k as Tensor).map((t) => this.history(t));
    const histV = layerTensors(out.present_v as Tensor).map((t) => this.history(t));
    const cache = new PredictorCache(
      histK,
      histV,
      this.history(out.cross_k as Tensor),
      this.history(out.cross_v as Tensor),
      this.rows,
      nHeads,
      d / nHeads,
      capacity,
    );
    this.#cache = cache;
    return { logits: this.tile(out.s1_logits, vocabS1), ctxLast: this.tile(out.ctx_last, d), cross: this.crossFeeds(cache, 0) };
  }

  crossFeeds(cache: PredictorCache, filled: number): Feeds {
    return {
      hist_k: cache.crossHistK,
      hist_v: cache.crossHistV,
      gen_k: cache.crossK.tensor,
      gen_v: cache.crossV.tensor,
      gen_len: genLen(filled),
    };
  }

  /** Step i ≥ 1 on the cache: the token appended at step i - 1 (position T + i - 1) alone. */
  async cachedStep(i: number): Promise<StepView> {
    const cache = this.#cache as PredictorCache;
    const L = this.settings.lookback + i;
    const all = this.allRows;
    const out = await run(this.sessions, 'predictor_s1_kv', {
      s1: i64(this.tokens(this.s1, all, L - 1, L), [this.rows, 1]),
      s2: i64(this.tokens(this.s2, all, L - 1, L), [this.rows, 1]),
      stamp: i64(this.stampWindow(all, L - 1, L), [this.rows, 1, STAMP_COUNT]),
      gen_len: genLen(i - 1),
      ...cache.feeds,
    });
    cache.writeTrunk(i - 1, floatData(out.new_k), floatData(out.new_v));
    cache.writeCross(i - 1, floatData(out.cross_k), floatData(out.cross_v));
    return { logits: floatData(out.s1_logits), ctxLast: floatData(out.ctx_last), cross: this.crossFeeds(cache, i) };
  }

  /** The whole window [start, L) of every row (the first one once per group when shared: it is the history). */
  async recomputeStep(i: number, start: number): Promise<StepView> {
    const L = this.settings.lookback + i;
    const { dModel: d, vocabS1 } = this.spec;
    const first = i === 0;
    const rows = first ? this.historyRows : this.allRows;
    const out = await this.predictWindow(rows, start, L, ['s1_logits', 'ctx_last', 'cross_k', 'cross_v']);
    const crossK = out.cross_k as Tensor;
    const [, heads, , dim] = crossK.dims as number[];
    this.#emptyCross ??= new SlotCache(this.rows, heads as number, 1, dim as number);
    const empty = this.#emptyCross.tensor;
    const history = (t: Tensor) => (first ? this.history(t) : t);
    return {
      logits: first ? this.tile(out.s1_logits, vocabS1) : floatData(out.s1_logits),
      ctxLast: first ? this.tile(out.ctx_last, d) : floatData(out.ctx_last),
      cross: { hist_k: history(crossK), hist_v: history(out.cross_v as Tensor), gen_k: empty, gen_v: empty, gen_len: genLen(0) },
    };
  }

  async step(i: number): Promise<void> {
    const { lookback: T, maxContext } = this.settings;
    const L = T + i;
    const start = Math.max(0, L - maxContext);
    const cacheable = this.settings.cache === 'auto' && L <= maxContext;
    const started = performance.now();
    let view: StepView;
    if (cacheable && i === 0) {
      this.steps.recomputed++;
      view = await this.prefill();
      this.timings.prefillMs += performance.now() - started;
    } else if (cacheable) {
      this.steps.cached++;
      view = await this.cachedStep(i);
      this.timings.trunkMs += performance.now() - started;
    } else {
      this.steps.recomputed++;
      view = await this.recomputeStep(i, start);
      if (i === 0) this.timings.prefillMs += performance.now() - started;
      else this.timings.trunkMs += performance.now() - started;
    }
    const next1 = this.sample(view.logits, 1);
    const s2Started = performance.now();
    const s2out = await run(this.sessions, 'predictor_s2', {
      ctx_last: f32(view.ctxLast, [this.rows, this.spec.dModel]),
      s1: i64(next1, [this.rows]),
      ...view.cross,
    });
    this.timings.s2Ms += performance.now() - s2Started;
    const next2 = this.sample(floatData(s2out.s2_logits), 2);
    for (let b = 0; b < this.rows; b++) {
      this.s1[b * this.total + L] = next1[b] as bigint;
      this.s2[b * this.total + L] = next2[b] as bigint;
    }
  }

  /**
   * Decodes the last min(T + P, max_context) tokens and keeps the last P rows. With a shared
   * prefill, the window's history part is decoded once per group and the generated bars of every
   * path read its keys and values (the tokenizer's decoder is causal); per path it is the upstream
   * single pass.
   */
  async decode(): Promise<GroupTokens[]> {
    const { lookback: T, horizon: P, maxContext } = this.settings;
    const start = Math.max(0, this.total - maxContext);
    const all = this.allRows;
    let decoded: Float32Array;
    if (this.settings.prefill === 'shared' && start < T) {
      const hist = await run(
        this.sessions,
        'tokenizer_decode',
        {
          s1: i64(this.tokens(this.s1, this.historyRows, start, T), [this.historyRows.length, T - start]),
          s2: i64(this.tokens(this.s2, this.historyRows, start, T), [this.historyRows.length, T - start]),
        },
        ['present_k', 'present_v'],
      );
      const feeds: Feeds = {
        s1: i64(this.tokens(this.s1, all, T, this.total), [this.rows, P]),
        s2: i64(this.tokens(this.s2, all, T, this.total), [this.rows, P]),
      };
      layerTensors(hist.present_k as Tensor).forEach((t, l) => {
        feeds[`hist_k_${l}`] = this.history(t);
      });
      layerTensors(hist.present_v as Tensor).forEach((t, l) => {
        feeds[`hist_v_${l}`] = this.history(t);
      });
      decoded = floatData((await run(this.sessions, 'tokenizer_decode_kv', feeds)).x);
    } else {
      const n = this.total - start;
      const out = await run(
        this.sessions,
        'tokenizer_decode',
        {
          s1: i64(this.tokens(this.s1, all, start, this.total), [this.rows, n]),
          s2: i64(this.tokens(this.s2, all, start, this.total), [this.rows, n]),
        },
        ['x'],
      );
      decoded = sliceColumns(floatData(out.x), this.rows, n, FEATURE_COUNT, n - P, n);
    }
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
  for (let i = 0; i < settings.horizon; i++) await gen.step(i);
  gen.timings.stepsMs = performance.now() - loopStarted - gen.timings.prefillMs;
  const decodeStarted = performance.now();
  const out = await gen.decode();
  gen.timings.decodeMs = performance.now() - decodeStarted;
  gen.timings.totalMs = performance.now() - started;
  const path = decodePath(settings);
  // The record is the plan; the step counts are what ran. They must agree, or the record would lie.
  const cachedWanted = path.path === 'recompute' ? 0 : Math.min(settings.horizon, path.slideStep ?? settings.horizon) - 1;
  if (gen.steps.cached !== cachedWanted) {
    throw new KronosRunError('(loop)', new Error(`ran ${gen.steps.cached} cached steps where the ${path.path} path has ${cachedWanted}`));
  }
  return { groups: out, timings: gen.timings, steps: gen.steps, path, rows: gen.rows };
}
