/**
 * Forecast benchmark: prints figures with the machine they ran on, asserts nothing.
 *  A. the shipped model (kronos-tiny, context 128), horizon 24, lookback 96 (the window never slides):
 *     latency p50/p99 and throughput for 1, 8, 32 and 128 paths, KV cache vs full recompute, a
 *     prefill shared by the paths vs one per path (the upstream loop's structure), CPU provider;
 *  B. the issue's figures, horizon 24 and 32 paths at lookback 256 and 512: this runtime vs the
 *     PyTorch reference loop (models/kronos `generate`, upstream semantics: paths replicated along
 *     the batch, full recompute) on the same machine in the same run, on the shipped model and on
 *     a Kronos-small-shaped model (random weights, exported at start), and KV cache vs recompute.
 * Runs that would take minutes are measured over 1 and 3 steps and projected to 24 (the window
 * length is constant once it slides, so the per-step cost is too); such rows say "projected".
 * Knobs: BENCH_REPS (default 10), BENCH_ONLY=A or B, BENCH_SKIP_SMALL=1, BENCH_TORCH_SMALL=1 (PyTorch on the
 * small-shaped model: about 2 minutes per measured step on 2 cores, so off by default).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CacheMode, type CandleRow, KronosModel, type PrefillMode } from '@kokex/kronos-runtime';
import { env } from 'onnxruntime-node';
import { machine, percentile } from './lib/report.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SHIPPED = join(ROOT, 'models/kronos/shipped');
const PYTHON = process.env.KOKEX_PYTHON ?? '/usr/bin/python3';
const REPS = Number(process.env.BENCH_REPS ?? 10);
const HOUR = 3_600_000;
const SAMPLING = { temperature: 1, topK: 0, topP: 0.9 };

/** A seeded random walk of hourly bars (the same recipe for the runtime and the PyTorch runs). */
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

interface Case {
  lookback: number;
  horizon: number;
  paths: number;
  cache: CacheMode;
  prefill: PrefillMode;
}

interface Timing {
  p50: number;
  p99: number;
  mean: number;
  projected: boolean;
}


async function once(model: KronosModel, c: Case): Promise<number> {
  const candles = series(c.lookback);
  const last = candles[candles.length - 1]?.ts as number;
  const futureTs = Array.from({ length: c.horizon }, (_, k) => last + (k + 1) * HOUR);
  const started = performance.now();
  await model.forecast([{ candles, futureTs, paths: c.paths, sampling: SAMPLING, seed: 1 }], { cache: c.cache, prefill: c.prefill });
  return performance.now() - started;
}

/**
 * Latencies of several cases measured round-robin (one run of each per round, after a warm-up of
 * each), so load from other processes on a shared machine falls on all of them alike.
 */
async function measure(model: KronosModel, cases: Case[], reps: number): Promise<Timing[]> {
  for (const c of cases) await once(model, c); // warm-up: first-run allocations and kernel selection
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) for (const [i, c] of cases.entries()) times[i]?.push(await once(model, c));
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: percentile(t, 0.5), p99: percentile(t, 0.99), mean: t.reduce((s, v) => s + v, 0) / t.length, projected: false };
  });
}

/** Horizons 1 and 3, the faster of two runs each; the 24-step latency is t1 + 23 × (t3 − t1) / 2. */
async function projected(model: KronosModel, c: Case): Promise<Timing> {
  const best = async (horizon: number) => Math.min(await once(model, { ...c, horizon }), await once(model, { ...c, horizon }));
  const t1 = await best(1);
  const t3 = await best(3);
  const total = t1 + ((c.horizon - 1) * (t3 - t1)) / 2;
  return { p50: total, p99: total, mean: total, projected: true };
}

const PY_TIMER = `
import json, os, sys, time
import numpy as np, torch
from pathlib import Path
from kronos.data import features, normalize, time_stamps
from kronos.export import load_run
from kronos.inference import Sampling, generate
torch.set_num_threads(os.cpu_count())
tok, model, cfg = load_run(Path(sys.argv[1]))
out = []
for c in json.loads(sys.argv[2]):
    T, P = c["lookback"], c["horizon"]
    g = np.random.default_rng(1)
    close = 30000 * np.exp(np.cumsum(g.normal(0, 0.01, T)))
    ohlcv = np.stack([close, close * 1.002, close * 0.998, close, 100 + 30 * g.random(T)], 1)
    ts = 1767225600000 + 3600000 * np.arange(T + P)
    x, _, _ = normalize(features(ohlcv), T)
    times = []
    for _ in range(c["reps"]):
        t = time.perf_counter()
        generate(tok, model, torch.from_numpy(x)[None], torch.from_numpy(time_stamps(ts[:T]))[None],
                 torch.from_numpy(time_stamps(ts[T:]))[None], P, cfg["max_context"], Sampling(temperature=1.0, top_p=0.9),
                 sample_count=c["paths"], use_kv_cache=c["kv"], generator=torch.Generator().manual_seed(1))
        times.append((time.perf_counter() - t) * 1000)
    out.append(times)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "times": out}))
`;

const PY_EXPORT_SMALL = `
import json, sys, torch
from pathlib import Path
from kronos.config import resolve_predictor_config, resolve_tokenizer_config
from kronos.export import export_graphs, write_card
from kronos.predictor import Kronos
from kronos.tokenizer import KronosTokenizer
out = Path(sys.argv[1])
torch.manual_seed(0)
tc, pc = resolve_tokenizer_config("tokenizer-base"), resolve_predictor_config("small")
tok, model = KronosTokenizer(tc), Kronos(pc)
files = export_graphs(tok, model, out)
write_card(out, files, tc, pc, 512, None, None, "kronos-small-random")
torch.save(tok.state_dict(), out / "tokenizer.pt")
torch.save(model.state_dict(), out / "predictor.pt")
(out / "config.json").write_text(json.dumps({"tokenizer": tc.to_dict(), "predictor": pc.to_dict(), "max_context": 512}))
`;

function python(code: string, args: string[]): string | undefined {
  const run = spawnSync(PYTHON, ['-c', code, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(ROOT, 'models/kronos') },
    maxBuffer: 16 * 2 ** 20,
  });
  if (run.status !== 0) {
    console.log(`  (PyTorch reference unavailable: ${(run.stderr || run.error?.message || '').trim().split('\n').pop()})`);
    return undefined;
  }
  return run.stdout;
}

/** PyTorch reference timings (ms) per case; `projectFromOne` times horizon 1 and multiplies by the horizon. */
function torchTimes(runDir: string, c: Case, reps: number, projectFromOne = false): Timing | undefined {
  const spec = [{ lookback: c.lookback, horizon: projectFromOne ? 1 : c.horizon, paths: c.paths, kv: c.cache === 'auto', reps }];
  const out = python(PY_TIMER, [runDir, JSON.stringify(spec)]);
  if (!out) return undefined;
  const times = ((JSON.parse(out) as { times: number[][] }).times[0] ?? []).sort((a, b) => a - b);
  const scale = projectFromOne ? c.horizon : 1;
  return {
    p50: percentile(times, 0.5) * scale,
    p99: percentile(times, 0.99) * scale,
    mean: (times.reduce((s, t) => s + t, 0) / times.length) * scale,
    projected: projectFromOne,
  };
}

const ms = (t: number) => (t >= 10_000 ? `${(t / 1000).toFixed(1)} s` : `${t.toFixed(t < 10 ? 2 : 1)} ms`);
const row = (cells: Array<string | number>) => console.log(`| ${cells.join(' | ')} |`);

function timingRow(label: string, c: Case, t: Timing, reference?: Timing): void {
  const perSecond = 1000 / t.mean;
  row([
    label,
    c.lookback,
    c.paths,
    `${c.cache === 'auto' ? 'kv' : 'recompute'} / ${c.prefill}`,
    ms(t.p50) + (t.projected ? ' (projected)' : ''),
    t.projected ? '-' : ms(t.p99),
    perSecond.toFixed(perSecond < 1 ? 3 : 1),
    (perSecond * c.paths).toFixed(perSecond * c.paths < 10 ? 2 : 0),
    reference ? `${(reference.mean / t.mean).toFixed(1)}×` : '',
  ]);
}

async function sectionA(): Promise<void> {
  console.log('\n## A. shipped model (kronos-tiny), horizon 24, lookback 96 (no slide), CPU provider');
  row(['model', 'lookback', 'paths', 'cache / prefill', 'p50', 'p99', 'forecasts/s', 'paths/s', 'vs recompute / per-path']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---']);
  const model = await KronosModel.load({ dir: SHIPPED });
  for (const paths of [1, 8, 32, 128]) {
    const reps = paths >= 128 ? Math.max(2, Math.ceil(REPS / 3)) : REPS;
    const cases: Case[] = [];
    for (const cache of ['auto', 'recompute'] as const) {
      for (const prefill of ['shared', 'per-path'] as const) cases.push({ lookback: 96, horizon: 24, paths, cache, prefill });
    }
    const timings = await measure(model, cases, reps);
    const results = cases.map((c, i) => [c, timings[i] as Timing] as const);
    const baseline = results.find(([c]) => c.cache === 'recompute' && c.prefill === 'per-path')?.[1];
    for (const [c, t] of results) timingRow('tiny', c, t, baseline);
  }
  await model.dispose();
}

async function sectionB(): Promise<void> {
  console.log('\n## B. horizon 24, 32 paths: this runtime vs the PyTorch reference loop, KV vs recompute');
  row(['model', 'lookback', 'paths', 'runtime: cache / prefill', 'p50', 'p99', 'forecasts/s', 'paths/s', 'speed-up vs PyTorch']);
  row(['---', '---', '---', '---', '---', '---', '---', '---', '---']);
  const tiny = await KronosModel.load({ dir: SHIPPED });
  for (const lookback of [256, 512]) {
    const c: Case = { lookback, horizon: 24, paths: 32, cache: 'auto', prefill: 'shared' };
    const upstreamShape: Case = { ...c, prefill: 'per-path', cache: 'recompute' };
    const reference = torchTimes(SHIPPED, upstreamShape, 2);
    const [runtime, perPath] = await measure(tiny, [c, upstreamShape], Math.ceil(REPS / 2));
    timingRow('tiny', c, runtime as Timing, reference);
    timingRow('tiny', upstreamShape, perPath as Timing, reference);
    if (reference)
      row([
        'tiny',
        lookback,
        32,
        'PyTorch reference (upstream loop)',
        ms(reference.p50),
        ms(reference.p99),
        (1000 / reference.mean).toFixed(3),
        '',
        '',
      ]);
  }
  await tiny.dispose();
  if (process.env.BENCH_SKIP_SMALL === '1') return;
  const dir = mkdtempSync(join(tmpdir(), 'kronos-small-'));
  try {
    if (python(PY_EXPORT_SMALL, [dir]) === undefined) return;
    const small = await KronosModel.load({ dir });
    for (const lookback of [256, 512]) {
      const kv: Case = { lookback, horizon: 24, paths: 32, cache: 'auto', prefill: 'shared' };
      const reference = process.env.BENCH_TORCH_SMALL === '1' ? torchTimes(dir, { ...kv, cache: 'recompute' }, 1, true) : undefined;
      const recompute = await projected(small, { ...kv, cache: 'recompute' });
      if (lookback + kv.horizon <= 512) {
        const [kvTiming] = (await measure(small, [kv], 2)) as [Timing];
        timingRow('small-shaped', kv, kvTiming, reference);
        console.log(`  small-shaped, lookback ${lookback}: KV cache vs recompute ${(recompute.mean / kvTiming.mean).toFixed(1)}×`);
      } else {
        console.log(
          `  small-shaped, lookback ${lookback}: the window slides from the second step, so the KV cache cannot serve; recompute only`,
        );
      }
      timingRow('small-shaped', { ...kv, cache: 'recompute' }, recompute, reference);
      if (reference)
        row([
          'small-shaped',
          lookback,
          32,
          'PyTorch reference (upstream loop)',
          `${ms(reference.p50)} (projected)`,
          '-',
          (1000 / reference.mean).toFixed(4),
          '',
          '',
        ]);
    }
    await small.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `# Forecast benchmark\nmachine: ${machine(`onnxruntime-node ${env.versions.node}`)}\nload average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const only = process.env.BENCH_ONLY;
if (only !== 'B') await sectionA();
if (only !== 'A') await sectionB();
console.log(
  `\nload average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
