/**
 * Forecast benchmark (issue 17): prints figures with the machine they ran on, asserts nothing.
 *
 *   npm run bench -- forecast [--json] [--settings] [--settings-model=small|shipped] [--int8] [--table] [--quick] [--no-pytorch] [--models=shipped,small,mini]
 *
 * Table: for the shipped model (lookback 96 and 256), Kronos-small and Kronos-mini (official layouts
 * with random weights, `python3 -m kronos random-official`; lookback 256 and 512), horizon 24, 1 / 8 / 32 / 128 paths:
 * ms per forecast (median and p99), forecasts/s and paths/s of
 *   - kv:        this runtime (in-place KV cache, shared prefill; it records the path it took),
 *   - recompute: the full-window loop of the previous runtime (every step recomputes the window),
 *   - pytorch:   the PyTorch reference loop (upstream's: paths replicated, full recompute),
 * measured interleaved (one run of each per round). Rows that would take minutes are projected from
 * horizons 1 and 2 (t1 + 23 × (t2 − t1); after the prefill every step of the recompute loop costs
 * the same once the window is full) and say so. The floor of each case is its FLOPs (the exact
 * job: one prefill per series, one token per path per cached step, the whole window per path per
 * slid step, s2 heads, tokenizer) divided by the GFLOP/s of a 2048² MatMul measured in this process
 * with the same session options just before the case; `× floor` is measured time / floor.
 * Each kv row also carries the medians of the runtime's stages (encode, prefill, trunk steps, s2 heads,
 * sampling, decode; ForecastPaths.timings), printed as a second table.
 * --settings measures ONNX Runtime session settings on Kronos-small, lookback 256, 32 paths
 * (--settings-model=shipped: the shipped model, lookback 96); --int8
 * measures the int8 export (speed on Kronos-small, accuracy on the shipped model with held-out
 * BTC/USDT candles); either alone skips the table unless --table is given too.
 * Knobs: BENCH_REPS (default 10), BENCH_SETTINGS_REPS (default 5), BENCH_FRESH=1 re-exports the
 * official-shaped models (otherwise kept in the OS temp dir between runs).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import {
  type CacheMode,
  type CandleRow,
  decodePath,
  type GenerationTimings,
  GRAPH_CONTRACT,
  KronosModel,
  type KronosModelOptions,
  type PrefillMode,
  sessionOptions,
} from '@kokex/kronos-runtime';
import { env, InferenceSession, Tensor } from 'onnxruntime-node';
import { machine, percentile } from './lib/report.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PYTHON = process.env.KOKEX_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');
const MODELS = (args.find((a) => a.startsWith('--models='))?.slice(9) ?? 'shipped,small,mini').split(',');
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 3 : 10));
const HOUR = 3_600_000;
const HORIZON = 24;
/** The shipped model's context is 128: 96 (its training lookback) fits with the horizon, 256 is cut to 128 and slides. */
const LOOKBACKS: Record<string, number[]> = { shipped: [96, 256], small: [256, 512], mini: [256, 512] };
const PATHS = QUICK ? [1, 32] : [1, 8, 32, 128];
const SAMPLING = { temperature: 1, topK: 0, topP: 0.9 };

/** The human-readable report: stdout, or stderr with --json (stdout then carries one JSON object). */
const log = (line = '') => {
  if (JSON_OUT) console.error(line);
  else console.log(line);
};

/** A seeded random walk of hourly bars. */
function series(count: number, seed = 1): CandleRow[] {
  let state = seed;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  let close = 30_000;
  return Array.from({ length: count }, (_, i) => {
    const open = close;
    close = open * Math.exp(0.01 * gauss());
    return {
      ts: Date.UTC(2026, 0, 1) + i * HOUR,
      open,
      high: Math.max(open, close) * 1.002,
      low: Math.min(open, close) * 0.998,
      close,
      volume: 100 + 30 * uniform(),
    };
  });
}

// ------------------------------------------------------------------------------------------ floor
/** GFLOP/s of one 2048² float32 MatMul on onnxruntime-node with the runtime's session options (best of 3). */
async function matmulGflops(options: KronosModelOptions = {}): Promise<number> {
  const session = await InferenceSession.create(join(ROOT, 'scripts/bench/lib/matmul.onnx'), sessionOptions('cpu', options));
  const n = 2048;
  const a = new Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5),
    [n, n],
  );
  const b = new Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => ((i * 104_729) % 1000) / 1000 - 0.5),
    [n, n],
  );
  await session.run({ a, b });
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await session.run({ a, b });
    best = Math.min(best, performance.now() - t);
  }
  await session.release();
  return (2 * n ** 3) / best / 1e6;
}

interface Dims {
  d: number;
  layers: number;
  ff: number;
  v1: number;
  v2: number;
  td: number;
  encLayers: number;
  decLayers: number;
  tff: number;
  bits: number;
}

function dims(model: KronosModel): Dims {
  const c = model.card.config as unknown as { tokenizer: Record<string, number>; predictor: Record<string, number> };
  const p = c.predictor;
  const t = c.tokenizer;
  return {
    d: p.d_model as number,
    layers: p.n_layers as number,
    ff: p.ff_dim as number,
    v1: 2 ** (p.s1_bits as number),
    v2: 2 ** (p.s2_bits as number),
    td: t.d_model as number,
    encLayers: (t.n_enc_layers as number) - 1,
    decLayers: (t.n_dec_layers as number) - 1,
    tff: t.ff_dim as number,
    bits: (t.s1_bits as number) + (t.s2_bits as number),
  };
}

/** FLOPs of the exact job: what no exact loop can skip (see the header). */
function jobFlops(m: Dims, T: number, P: number, paths: number, maxContext: number): number {
  const block = (d: number, ff: number) => 2 * (4 * d * d + 3 * d * ff);
  const attn = (d: number, layers: number, context: number) => layers * 4 * d * context;
  // Trunk tokens: each costs the blocks, its attention over its context, the embedding fusion and the s2 head's key/value projections.
  const trunkToken = (context: number) => m.layers * block(m.d, m.ff) + attn(m.d, m.layers, context) + 4 * m.d * m.d + 4 * m.d * m.d;
  let flops = 0;
  for (let t = 0; t < T; t++) flops += trunkToken(t + 1); // prefill, once per series
  const path = decodePath({ lookback: T, horizon: P, maxContext, cache: 'auto' });
  for (let i = 1; i < P; i++) {
    const L = T + i;
    if (path.slideStep === undefined || i < path.slideStep) flops += paths * trunkToken(L);
    else for (let t = 0; t < maxContext; t++) flops += paths * trunkToken(t + 1); // the window slid: recompute it
  }
  flops += paths * P * 2 * m.d * m.v1; // s1 head at the last position
  flops += paths * P * (4 * m.d * m.d + 4 * m.d * Math.min(T + P, maxContext) + 2 * m.d * m.v2); // s2 heads
  const tokBlock = (n: number, layers: number) => n * layers * block(m.td, m.tff) + attn(m.td, layers, n) * (n / 2);
  flops += tokBlock(T, m.encLayers) + T * 2 * m.td * (6 + m.bits); // encode once
  const window = Math.min(T + P, maxContext);
  flops +=
    tokBlock(window - P, m.decLayers) +
    paths * P * (m.decLayers * block(m.td, m.tff) + attn(m.td, m.decLayers, window) + 2 * m.td * (6 + m.bits)); // decode
  return flops;
}

// ------------------------------------------------------------------------------------------ models
function randomOfficial(kind: 'small' | 'mini'): string | undefined {
  const out = join(tmpdir(), `kokex-bench-kronos-${kind}`);
  const card = join(out, 'onnx/card.json');
  const fresh =
    process.env.BENCH_FRESH !== '1' &&
    existsSync(card) &&
    (JSON.parse(readFileSync(card, 'utf8')) as { graph_contract?: number }).graph_contract === GRAPH_CONTRACT;
  if (!fresh) {
    log(`  exporting Kronos-${kind} (official layout, random weights) into ${out} …`);
    const run = spawnSync(PYTHON, ['-m', 'kronos', 'random-official', '--model', kind, '--out', out], {
      cwd: join(ROOT, 'models/kronos'),
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      log(`  (Kronos-${kind} unavailable: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()})`);
      return undefined;
    }
  }
  return join(out, 'onnx');
}

// ------------------------------------------------------------------------------------------ PyTorch worker
class TorchWorker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;

  constructor() {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: join(ROOT, 'models/kronos') };
    delete childEnv.OPENBLAS_CORETYPE;
    delete childEnv.OPENBLAS_L2_SIZE;
    this.#child = spawn(PYTHON, [join(ROOT, 'scripts/bench/lib/kronos_torch_worker.py')], { env: childEnv });
    this.#child.stderr.resume();
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async ask(req: object): Promise<Record<string, unknown>> {
    this.#child.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await this.#lines.next();
    if (next.done) throw new Error('the PyTorch worker exited');
    const out = JSON.parse(next.value) as Record<string, unknown>;
    if (out.error) throw new Error(String(out.error));
    return out;
  }

  close(): void {
    this.#child.stdin.end();
  }
}

// ------------------------------------------------------------------------------------------ measuring
type Loop = 'kv' | 'recompute' | 'pytorch';
interface Row {
  model: string;
  lookback: number;
  paths: number;
  loop: Loop;
  path: string;
  runs: number;
  projected: boolean;
  p50Ms: number;
  p99Ms: number;
  forecastsPerS: number;
  pathsPerS: number;
  floorMs: number;
  timesFloor: number;
  /** Medians of the runtime's stages over the measured runs (kv rows): where the time goes. */
  stagesMs?: Stages;
  /** Time of the recompute and PyTorch rows of the same case divided by this row's. */
  speedupVsRecompute?: number;
  speedupVsPytorch?: number;
}

const RUN_OPTIONS: Record<Exclude<Loop, 'pytorch'>, { cache: CacheMode; prefill: PrefillMode }> = {
  kv: { cache: 'auto', prefill: 'shared' },
  recompute: { cache: 'recompute', prefill: 'shared' },
};

/** Where a forecast's time went (ForecastPaths.timings), the runtime's stages. */
type Stages = Pick<GenerationTimings, 'encodeMs' | 'prefillMs' | 'trunkMs' | 's2Ms' | 'samplingMs' | 'decodeMs'>;
const STAGES = ['encodeMs', 'prefillMs', 'trunkMs', 's2Ms', 'samplingMs', 'decodeMs'] as const;
/** The stages of the last forecast `once` ran. */
let lastStages: Stages | undefined;

async function once(model: KronosModel, loop: Exclude<Loop, 'pytorch'>, lookback: number, horizon: number, paths: number): Promise<number> {
  const candles = series(lookback);
  const last = candles[candles.length - 1]?.ts as number;
  const futureTs = Array.from({ length: horizon }, (_, k) => last + (k + 1) * HOUR);
  const started = performance.now();
  const [out] = await model.forecast([{ candles, futureTs, paths, sampling: SAMPLING, seed: 1 }], RUN_OPTIONS[loop]);
  const elapsed = performance.now() - started;
  const t = out?.timings;
  lastStages = t ? (Object.fromEntries(STAGES.map((k) => [k, t[k]])) as unknown as Stages) : undefined;
  return elapsed;
}

interface Plan {
  loop: Loop;
  projected: boolean;
  /** Measured rounds when fewer than BENCH_REPS (the PyTorch loop on this machine's reference BLAS). */
  reps?: number;
}

async function measureCase(
  name: string,
  model: KronosModel,
  dir: string,
  lookback: number,
  paths: number,
  plans: Plan[],
  torch: TorchWorker | undefined,
  floorMs: number,
): Promise<Row[]> {
  const times = new Map<Loop, number[]>();
  const stages: Stages[] = [];
  const run = async (p: Plan, horizon: number, reps: number): Promise<number[]> => {
    if (p.loop === 'pytorch') {
      // The same bars the runtime uses: its last max_context (the reference would normalize over all of them).
      const used = Math.min(lookback, model.maxContext);
      const out = await (torch as TorchWorker).ask({
        cmd: 'time',
        run: dir.replace(/\/onnx$/, '/run'),
        lookback: used,
        horizon,
        paths,
        reps,
      });
      return out.times as number[];
    }
    const t: number[] = [];
    for (let r = 0; r < reps; r++) t.push(await once(model, p.loop, lookback, horizon, paths));
    return t;
  };
  const measured = plans.filter((p) => !p.projected);
  for (const p of measured) await run(p, HORIZON, 1); // warm-up
  for (let r = 0; r < REPS; r++) {
    for (const p of measured) {
      if (r >= (p.reps ?? REPS)) continue;
      const list = times.get(p.loop) ?? [];
      list.push(...(await run(p, HORIZON, 1)));
      times.set(p.loop, list);
      if (p.loop === 'kv' && lastStages) stages.push(lastStages);
    }
  }
  for (const p of plans.filter((q) => q.projected)) {
    const t1 = Math.min(...(await run(p, 1, 1)));
    const t2 = Math.min(...(await run(p, 2, 1)));
    times.set(p.loop, [t1 + (HORIZON - 1) * Math.max(0, t2 - t1)]);
  }
  const path = decodePath({
    lookback: Math.min(lookback, model.maxContext),
    horizon: HORIZON,
    maxContext: model.maxContext,
    cache: 'auto',
  });
  const rows = plans.map((p): Row => {
    const t = times.get(p.loop) as number[];
    const mean = t.reduce((s, v) => s + v, 0) / t.length;
    const p50 = percentile(t, 0.5);
    return {
      model: name,
      lookback,
      paths,
      loop: p.loop,
      path: p.loop === 'kv' ? path.path : 'recompute',
      runs: p.projected ? 0 : t.length,
      projected: p.projected,
      p50Ms: p50,
      p99Ms: percentile(t, 0.99),
      forecastsPerS: 1000 / mean,
      pathsPerS: (1000 / mean) * paths,
      floorMs,
      timesFloor: p50 / floorMs,
    };
  });
  const kv = rows.find((r) => r.loop === 'kv');
  if (kv && stages.length > 0) {
    kv.stagesMs = Object.fromEntries(
      STAGES.map((k) => [
        k,
        percentile(
          stages.map((st) => st[k]),
          0.5,
        ),
      ]),
    ) as unknown as Stages;
  }
  if (kv) {
    const rec = rows.find((r) => r.loop === 'recompute');
    const py = rows.find((r) => r.loop === 'pytorch');
    if (rec) kv.speedupVsRecompute = rec.p50Ms / kv.p50Ms;
    if (py) kv.speedupVsPytorch = py.p50Ms / kv.p50Ms;
  }
  return rows;
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
const num = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3));

function printRow(r: Row): void {
  log(
    `| ${r.model} | ${r.lookback} | ${r.paths} | ${r.loop} | ${r.path} | ${fmt(r.p50Ms)}${r.projected ? ' (projected)' : ''} | ${r.projected ? '-' : fmt(r.p99Ms)} | ${r.runs || '-'} | ${num(r.forecastsPerS)} | ${num(r.pathsPerS)} | ${fmt(r.floorMs)} | ${r.timesFloor.toFixed(1)}× | ${r.speedupVsRecompute ? `${r.speedupVsRecompute.toFixed(1)}×` : ''} | ${r.speedupVsPytorch ? `${r.speedupVsPytorch.toFixed(1)}×` : ''} |`,
  );
}

/** Which loops a case measures and which it projects (a full run stays within tens of minutes on 2 cores). */
function plansFor(name: string, lookback: number, paths: number, maxContext: number, hasTorch: boolean): Plan[] {
  const shipped = name === 'shipped';
  const slides = decodePath({ lookback: Math.min(lookback, maxContext), horizon: HORIZON, maxContext, cache: 'auto' }).path !== 'kv-cache';
  // A slid window at 128 paths recomputes 128 full windows a step: minutes even projected, so left out.
  if (slides && paths > 32) return [];
  const plans: Plan[] = [{ loop: 'kv', projected: !shipped && slides }];
  if (shipped || paths <= 32) plans.push({ loop: 'recompute', projected: !shipped });
  // PyTorch runs on whatever BLAS the machine has (printed above): measured (3 rounds) where that takes
  // seconds, projected where it takes minutes, left out where even the projection would.
  if (hasTorch && shipped && paths <= 32) plans.push({ loop: 'pytorch', projected: paths > 1, reps: 3 });
  if (hasTorch && !shipped && paths === 1 && (lookback === 256 || name === 'mini')) plans.push({ loop: 'pytorch', projected: true });
  return plans;
}

async function table(torch: TorchWorker | undefined): Promise<Row[]> {
  const rows: Row[] = [];
  log('\n## ms per forecast, horizon 24 (kv = this runtime; recompute = the full-window loop; pytorch = the upstream loop)');
  log(
    '| model | lookback | paths | loop | path taken | p50 | p99 | runs | forecasts/s | paths/s | floor | × floor | kv speed-up vs recompute | vs PyTorch |',
  );
  log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const name of MODELS) {
    const dir = name === 'shipped' ? join(ROOT, 'models/kronos/shipped') : randomOfficial(name as 'small' | 'mini');
    if (!dir) continue;
    const model = await KronosModel.load({ dir });
    const m = dims(model);
    for (const lookback of LOOKBACKS[name] ?? [256, 512]) {
      for (const paths of PATHS) {
        const T = Math.min(lookback, model.maxContext);
        // The MatMul rate is measured again beside every case: on a shared machine the load moves.
        const caseGflops = await matmulGflops();
        const floorMs = jobFlops(m, T, HORIZON, paths, model.maxContext) / caseGflops / 1e6;
        const plans = plansFor(name, lookback, paths, model.maxContext, torch !== undefined);
        if (plans.length === 0) {
          log(
            `| ${name} | ${lookback} | ${paths} | - | recompute (slides) | not run: every step recomputes ${paths} windows of ${model.maxContext} | | | | | ${fmt(floorMs)} | | | |`,
          );
          continue;
        }
        const caseRows = await measureCase(name, model, dir, lookback, paths, plans, torch, floorMs);
        for (const r of caseRows) printRow(r);
        rows.push(...caseRows);
      }
    }
    await model.dispose();
  }
  log('\n## where the kv loop spends its time (medians over the measured runs, ms)');
  log(`| model | lookback | paths | p50 | ${STAGES.map((k) => k.replace(/Ms$/, '')).join(' | ')} |`);
  log(`| --- | --- | --- | --- | ${STAGES.map(() => '---').join(' | ')} |`);
  for (const r of rows) {
    if (!r.stagesMs) continue;
    const st = r.stagesMs;
    log(`| ${r.model} | ${r.lookback} | ${r.paths} | ${fmt(r.p50Ms)} | ${STAGES.map((k) => fmt(st[k])).join(' | ')} |`);
  }
  return rows;
}

// ------------------------------------------------------------------------------------------ session settings
interface SettingRow {
  setting: string;
  options: KronosModelOptions;
  p50Ms: number;
  meanMs: number;
  /** p50 of this setting / p50 of the defaults measured beside it (alternating). */
  vsDefault: number;
  defaultsP50Ms?: number;
}

/** --settings-model=small (default) or shipped: the model the settings sweep runs on (lookback 256 or 96, 32 paths). */
const SETTINGS_MODEL = args.find((a) => a.startsWith('--settings-model='))?.slice(17) ?? 'small';

async function settings(): Promise<SettingRow[]> {
  const shipped = SETTINGS_MODEL === 'shipped';
  const dir = shipped ? join(ROOT, 'models/kronos/shipped') : randomOfficial('small');
  if (!dir) return [];
  const lookback = shipped ? 96 : 256;
  const variants: Array<[string, KronosModelOptions]> = [
    ['defaults', {}],
    ['spinning on', { spinning: true }],
    ['intra-op threads 1', { intraOpThreads: 1 }],
    ['intra-op threads 2', { intraOpThreads: 2 }],
    ['optimization basic', { optimizationLevel: 'basic' }],
    ['optimization extended', { optimizationLevel: 'extended' }],
    ['memory arena off', { memoryArena: false }],
    ['memory pattern off', { memoryPattern: false }],
    ['parallel execution, 2 inter-op threads', { executionMode: 'parallel', interOpThreads: 2 }],
  ];
  const reps = Number(process.env.BENCH_SETTINGS_REPS ?? (QUICK ? 2 : 5));
  log(
    `\n## session settings: ${shipped ? 'the shipped model' : 'Kronos-small'}, lookback ${lookback}, 32 paths, horizon 24, kv loop; each setting against the defaults, ${reps} interleaved rounds, one setting loaded at a time`,
  );
  // One variant at a time beside the defaults: a variant's threads (spinning ones above all) must not
  // run during another variant's forecasts.
  const defaults = await KronosModel.load({ dir }, {});
  await once(defaults, 'kv', lookback, HORIZON, 32);
  const all: number[] = [];
  const measured: Array<{ setting: string; options: KronosModelOptions; times: number[]; base: number[] }> = [];
  for (const [setting, options] of variants.slice(1)) {
    const model = await KronosModel.load({ dir }, options);
    await once(model, 'kv', lookback, HORIZON, 32);
    const times: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < reps; r++) {
      times.push(await once(model, 'kv', lookback, HORIZON, 32));
      base.push(await once(defaults, 'kv', lookback, HORIZON, 32));
    }
    await model.dispose();
    all.push(...base);
    measured.push({ setting, options, times, base });
  }
  await defaults.dispose();
  log('| setting | p50 | mean | defaults p50 beside it | vs defaults |');
  log('| --- | --- | --- | --- | --- |');
  const mean = (t: number[]) => t.reduce((a, v) => a + v, 0) / t.length;
  const rows: SettingRow[] = [
    { setting: 'defaults', options: {}, p50Ms: percentile(all, 0.5), meanMs: mean(all), vsDefault: 1 },
    ...measured.map(({ setting, options, times, base }) => ({
      setting,
      options,
      p50Ms: percentile(times, 0.5),
      meanMs: mean(times),
      vsDefault: percentile(times, 0.5) / percentile(base, 0.5),
      defaultsP50Ms: percentile(base, 0.5),
    })),
  ];
  for (const row of rows) {
    log(
      `| ${row.setting} | ${fmt(row.p50Ms)} | ${fmt(row.meanMs)} | ${row.defaultsP50Ms === undefined ? '' : fmt(row.defaultsP50Ms)} | ${row.vsDefault.toFixed(2)}× |`,
    );
  }
  return rows;
}

// ------------------------------------------------------------------------------------------ int8
/** Copies an export with its trunk graphs int8-quantized (models/kronos `quantize`). */
function quantized(dir: string, out: string): string | undefined {
  const run = spawnSync(PYTHON, ['-m', 'kronos', 'quantize', '--onnx', dir, '--out', out], {
    cwd: join(ROOT, 'models/kronos'),
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    log(`  (int8 export failed: ${(run.stderr || '').trim().split('\n').pop()})`);
    return undefined;
  }
  return out;
}

/** Hourly BTC/USDT candles of /work/shared/data (or KOKEX_DATA_DIR), or undefined when absent. */
function realCandles(): CandleRow[] | undefined {
  const file = join(process.env.KOKEX_DATA_DIR ?? join(ROOT, '../shared/data'), 'binance_BTCUSDT_1h_2021-06_2026-06.csv.gz');
  if (!existsSync(file)) return undefined;
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [ts, open, high, low, close, volume] = line.split(',').map(Number) as number[];
      return {
        ts: ts as number,
        open: open as number,
        high: high as number,
        low: low as number,
        close: close as number,
        volume: volume as number,
      };
    });
}

/** CRPS of an ensemble against one outcome: mean |X − y| − ½ mean |X − X'|. */
function crps(samples: number[], y: number): number {
  const n = samples.length;
  let a = 0;
  let b = 0;
  for (const x of samples) a += Math.abs(x - y);
  for (const x of samples) for (const z of samples) b += Math.abs(x - z);
  return a / n - b / (2 * n * n);
}

interface Int8Report {
  speed?: { fp32Ms: number; int8Ms: number; ratio: number };
  accuracy?: { windows: number; s1Agreement: number; s2Agreement: number; crpsFp32: number; crpsInt8: number; crpsRatio: number };
  withinTolerance?: boolean;
}

async function int8(): Promise<Int8Report> {
  const report: Int8Report = {};
  log('\n## int8 (dynamic quantization of the trunk graphs) against float32');
  const tolerance = 'tolerance: greedy s1 agreement ≥ 95 % and CRPS at most 2 % above float32 on held-out windows';
  const shipped = join(ROOT, 'models/kronos/shipped');
  const shippedInt8 = quantized(shipped, join(tmpdir(), 'kokex-bench-shipped-int8'));
  const candles = realCandles();
  if (shippedInt8 && candles) {
    // Held-out windows: the shipped card's test period (or, for a card without one, its validation
    // span after its training data), lookback 96, horizon 24.
    const card = JSON.parse(readFileSync(join(shipped, 'card.json'), 'utf8')) as {
      data: { test_from_ts?: number | null; validation?: { first_ts: number } };
    };
    const heldOutFrom = card.data.test_from_ts ?? card.data.validation?.first_ts ?? 0;
    const first = Math.max(0, candles.findIndex((c) => c.ts >= heldOutFrom));
    const [a, b] = [await KronosModel.load({ dir: shipped }), await KronosModel.load({ dir: shippedInt8 })];
    let same1 = 0;
    let same2 = 0;
    let tokens = 0;
    let crpsA = 0;
    let crpsB = 0;
    let n = 0;
    const windows = QUICK ? 8 : 40;
    for (let w = 0; w < windows; w++) {
      const end = first + 96 + w * 48;
      if (end + 24 > candles.length) break;
      const history = candles.slice(end - 96, end);
      const future = candles.slice(end, end + 24);
      const base = { candles: history, futureTs: future.map((c) => c.ts) };
      const [ga] = await a.forecast([{ ...base, paths: 1, sampling: { temperature: 1, topK: 1, topP: 1 }, seed: 1 }]);
      const [gb] = await b.forecast([{ ...base, paths: 1, sampling: { temperature: 1, topK: 1, topP: 1 }, seed: 1 }]);
      ga?.s1.forEach((v, i) => {
        if (v === gb?.s1[i]) same1++;
        if (ga.s2[i] === gb?.s2[i]) same2++;
        tokens++;
      });
      const [pa] = await a.forecast([{ ...base, paths: 32, sampling: SAMPLING, seed: 7 + w }]);
      const [pb] = await b.forecast([{ ...base, paths: 32, sampling: SAMPLING, seed: 7 + w }]);
      for (let h = 0; h < 24; h++) {
        const y = future[h]?.close as number;
        const closes = (p: typeof pa) => Array.from({ length: 32 }, (_, s) => p?.values[(s * 24 + h) * 6 + 3] as number);
        crpsA += crps(closes(pa), y);
        crpsB += crps(closes(pb), y);
        n++;
      }
    }
    await a.dispose();
    await b.dispose();
    report.accuracy = {
      windows: n / 24,
      s1Agreement: same1 / tokens,
      s2Agreement: same2 / tokens,
      crpsFp32: crpsA / n,
      crpsInt8: crpsB / n,
      crpsRatio: crpsB / crpsA,
    };
    const r = report.accuracy;
    log(
      `shipped model, ${r.windows} held-out BTC/USDT 1h windows (lookback 96, horizon 24): greedy token agreement s1 ${(100 * r.s1Agreement).toFixed(1)} %, s2 ${(100 * r.s2Agreement).toFixed(1)} %; close CRPS (32 paths) float32 ${r.crpsFp32.toFixed(1)}, int8 ${r.crpsInt8.toFixed(1)} (${r.crpsRatio.toFixed(3)}×)`,
    );
  } else {
    log('  (accuracy skipped: the shipped int8 export or the BTC/USDT 1h candles are unavailable)');
  }
  const small = randomOfficial('small');
  const smallInt8 = small ? quantized(small, join(tmpdir(), 'kokex-bench-kronos-small-int8')) : undefined;
  if (small && smallInt8) {
    const [a, b] = [await KronosModel.load({ dir: small }), await KronosModel.load({ dir: smallInt8 })];
    await once(a, 'kv', 256, HORIZON, 32);
    await once(b, 'kv', 256, HORIZON, 32);
    const ta: number[] = [];
    const tb: number[] = [];
    for (let r = 0; r < (QUICK ? 2 : 5); r++) {
      ta.push(await once(a, 'kv', 256, HORIZON, 32));
      tb.push(await once(b, 'kv', 256, HORIZON, 32));
    }
    await a.dispose();
    await b.dispose();
    report.speed = { fp32Ms: percentile(ta, 0.5), int8Ms: percentile(tb, 0.5), ratio: percentile(tb, 0.5) / percentile(ta, 0.5) };
    log(
      `Kronos-small shape, lookback 256, 32 paths, kv loop, interleaved: float32 ${fmt(report.speed.fp32Ms)}, int8 ${fmt(report.speed.int8Ms)} (${report.speed.ratio.toFixed(2)}× the time)`,
    );
  }
  if (report.accuracy) report.withinTolerance = report.accuracy.s1Agreement >= 0.95 && report.accuracy.crpsRatio <= 1.02;
  log(`${tolerance}: ${report.withinTolerance === undefined ? 'not measured' : report.withinTolerance ? 'within' : 'outside'}`);
  return report;
}

// ------------------------------------------------------------------------------------------ main
const started = { load: loadavg() };
log(
  `# Forecast benchmark\nmachine: ${machine(`onnxruntime-node ${env.versions.node}`)}\nload average at start: ${started.load.map((l) => l.toFixed(2)).join(' ')}`,
);
const gflops = await matmulGflops();
log(`floor: 2048² MatMul on onnxruntime-node in this process, default session options: ${gflops.toFixed(1)} GFLOP/s`);
let torch: TorchWorker | undefined = args.includes('--no-pytorch') ? undefined : new TorchWorker();
let torchInfo: Record<string, unknown> | undefined;
try {
  if (!torch) throw new Error('--no-pytorch');
  torchInfo = await torch.ask({ cmd: 'info' });
  log(
    `PyTorch reference: torch ${torchInfo.torch}, ${torchInfo.threads} threads, BLAS_INFO=${torchInfo.blas_info}, libblas ${torchInfo.libblas}, OPENBLAS_CORETYPE ${torchInfo.openblas_coretype ?? 'unset'} (removed with OPENBLAS_L2_SIZE for this worker), 2048² matmul ${Number(torchInfo.matmul_gflops).toFixed(1)} GFLOP/s`,
  );
} catch (err) {
  log(`PyTorch reference unavailable: ${(err as Error).message}`);
  torch?.close();
  torch = undefined;
}
const settingRows = args.includes('--settings') ? await settings() : [];
const int8Report = args.includes('--int8') ? await int8() : undefined;
const sectionOnly = args.includes('--settings') || args.includes('--int8');
const rows = sectionOnly && !args.includes('--table') ? [] : await table(torch);
torch?.close();
const gflopsEnd = await matmulGflops();
const end = loadavg();
log(`\n2048² MatMul at the end: ${gflopsEnd.toFixed(1)} GFLOP/s; load average at end: ${end.map((l) => l.toFixed(2)).join(' ')}`);
if (JSON_OUT) {
  console.log(
    JSON.stringify({
      machine: machine(`onnxruntime-node ${env.versions.node}`),
      loadAverage: { start: started.load, end },
      floor: { matmulGflopsStart: gflops, matmulGflopsEnd: gflopsEnd },
      pytorch: torchInfo ?? null,
      rows,
      settings: settingRows,
      int8: int8Report ?? null,
    }),
  );
}
