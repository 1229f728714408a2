/**
 * Paths benchmark: how many Monte Carlo paths a forecast needs, coverage against cost. Prints
 * figures with the machine they ran on, asserts nothing (`node --import tsx --conditions=kokex-source scripts/bench/paths.ts`).
 *  A. sampling alone (no model): the coverage a central band of S sample quantiles has for a new
 *     draw of the sampled distribution, type 6 (what the inferencer publishes) against numpy's
 *     type 7, by formula and by a seeded Monte Carlo check;
 *  B. the shipped model on real candles (ETH/USDT 1h from KOKEX_DATA_DIR, default ../shared/data;
 *     skipped with a message when absent): lookback 96, horizon 24, BENCH_ORIGINS non-overlapping
 *     origins (default 60, the newest ones), the same seeds for every S: raw 80% and 90% band
 *     coverage over all steps and CRPS of the close in log-return units;
 *  C. the latency of one forecast per S, measured round-robin over BENCH_REPS rounds (default 7)
 *     after a warm-up, on the CPU provider. BENCH_ONLY=A, B or C runs one section.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { crpsEnsemble, expectedBandCoverage, quantileOfSorted } from '@kokex/actor-inferencer';
import { type CandleRow, createRng, KronosModel } from '@kokex/kronos-runtime';
import { machine, percentile } from './lib/report.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SHIPPED = join(ROOT, 'models/kronos/shipped');
const DATA_DIR = resolve(ROOT, process.env.KOKEX_DATA_DIR ?? '../shared/data');
const DATA_FILE = join(DATA_DIR, 'binance_ETHUSDT_1h_2024-09_2026-02.csv.gz');
const ORIGINS = Number(process.env.BENCH_ORIGINS ?? 60);
const REPS = Number(process.env.BENCH_REPS ?? 7);
const PATHS = [8, 16, 32, 64, 128];
const LOOKBACK = 96;
const HORIZON = 24;
const SAMPLING = { temperature: 1, topK: 0, topP: 0.9 };

const row = (cells: Array<string | number>) => console.log(`| ${cells.join(' | ')} |`);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Type 7 expected coverage: ranks 1 + q(S − 1). */
const type7Coverage = (s: number, coverage: number) => (((1 + coverage) / 2 - (1 - coverage) / 2) * (s - 1)) / (s + 1);

function sectionA(): void {
  console.log('\n## A. coverage of a central band of S sample quantiles, draws of the sampled distribution');
  row(['paths S', '80% type 6 (formula)', '80% type 6 (20,000 trials)', '80% type 7', '90% type 6 (formula)', '90% type 6 (trials)', '90% type 7']);
  row(['---', '---', '---', '---', '---', '---', '---']);
  const rng = createRng(16, 0);
  for (const s of [8, 16, 24, 32, 48, 64, 128, 256]) {
    const inside = { 0.8: 0, 0.9: 0 };
    const trials = 20_000;
    for (let t = 0; t < trials; t++) {
      const draws = Float64Array.from({ length: s }, () => rng.next()).sort();
      const next = rng.next();
      for (const c of [0.8, 0.9] as const) {
        if (next >= quantileOfSorted(draws, (1 - c) / 2) && next <= quantileOfSorted(draws, (1 + c) / 2)) inside[c]++;
      }
    }
    row([
      s,
      pct(expectedBandCoverage(s, 0.8)),
      pct(inside[0.8] / trials),
      pct(type7Coverage(s, 0.8)),
      pct(expectedBandCoverage(s, 0.9)),
      pct(inside[0.9] / trials),
      pct(type7Coverage(s, 0.9)),
    ]);
  }
}

function readCandles(file: string): CandleRow[] {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [ts, open, high, low, close, volume] = line.split(',').map(Number);
    return { ts: ts as number, open: open as number, high: high as number, low: low as number, close: close as number, volume: volume as number };
  });
}

async function sectionB(): Promise<void> {
  console.log(`\n## B. shipped model on ETH/USDT 1h, lookback ${LOOKBACK}, horizon ${HORIZON}, ${ORIGINS} non-overlapping origins, raw bands`);
  if (!existsSync(DATA_FILE)) {
    console.log(`  skipped: ${DATA_FILE} not found (set KOKEX_DATA_DIR)`);
    return;
  }
  const candles = readCandles(DATA_FILE);
  const model = await KronosModel.load({ dir: SHIPPED });
  // The newest origins, HORIZON bars apart, each with its lookback before it and its horizon after it.
  const origins: number[] = [];
  for (let end = candles.length - HORIZON; origins.length < ORIGINS && end - LOOKBACK >= 0; end -= HORIZON) origins.push(end);
  row(['paths S', 'expected 80%', 'raw 80% band', 'expected 90%', 'raw 90% band', 'CRPS (log units)']);
  row(['---', '---', '---', '---', '---', '---']);
  for (const s of PATHS) {
    let in80 = 0;
    let in90 = 0;
    let crps = 0;
    let count = 0;
    for (const [k, end] of origins.entries()) {
      const history = candles.slice(end - LOOKBACK, end);
      const future = candles.slice(end, end + HORIZON);
      const last = history[history.length - 1] as CandleRow;
      const [paths] = await model.forecast([{ candles: history, futureTs: future.map((c) => c.ts), paths: s, sampling: SAMPLING, seed: 1000 + k }]);
      if (!paths) continue;
      for (let h = 0; h < HORIZON; h++) {
        const closes = Float64Array.from({ length: s }, (_, p) => Math.log((paths.values[(p * HORIZON + h) * 6 + 3] as number) / last.close)).sort();
        const y = Math.log((future[h] as CandleRow).close / last.close);
        if (y >= quantileOfSorted(closes, 0.1) && y <= quantileOfSorted(closes, 0.9)) in80++;
        if (y >= quantileOfSorted(closes, 0.05) && y <= quantileOfSorted(closes, 0.95)) in90++;
        crps += crpsEnsemble(closes, y);
        count++;
      }
    }
    row([
      s,
      pct(expectedBandCoverage(s, 0.8)),
      pct(in80 / count),
      pct(expectedBandCoverage(s, 0.9)),
      pct(in90 / count),
      (crps / count).toFixed(5),
    ]);
  }
  await model.dispose();
}

/** Latency per S measured round-robin (one run of each S per round, after a warm-up), so load from other processes falls on all alike. */
async function sectionC(): Promise<void> {
  console.log(`\n## C. latency of one forecast, lookback ${LOOKBACK}, horizon ${HORIZON}, KV cache, shared prefill, CPU provider, ${REPS} rounds`);
  const model = await KronosModel.load({ dir: SHIPPED });
  const candles = Array.from({ length: LOOKBACK }, (_, i) => {
    const close = 3000 * Math.exp(0.01 * Math.sin(i / 5));
    return { ts: Date.UTC(2026, 0, 1) + i * 3_600_000, open: close, high: close * 1.002, low: close * 0.998, close, volume: 100 };
  });
  const last = candles[candles.length - 1]?.ts as number;
  const futureTs = Array.from({ length: HORIZON }, (_, k) => last + (k + 1) * 3_600_000);
  const once = async (paths: number) => {
    const started = performance.now();
    await model.forecast([{ candles, futureTs, paths, sampling: SAMPLING, seed: 1 }]);
    return performance.now() - started;
  };
  for (const s of PATHS) await once(s);
  const times = new Map<number, number[]>(PATHS.map((s) => [s, []]));
  for (let r = 0; r < REPS; r++) for (const s of PATHS) times.get(s)?.push(await once(s));
  row(['paths S', 'p50', 'fastest', 'p50 vs 32 paths']);
  row(['---', '---', '---', '---']);
  const p50 = (s: number) => percentile(times.get(s) as number[], 0.5);
  for (const s of PATHS) row([s, `${p50(s).toFixed(0)} ms`, `${Math.min(...(times.get(s) as number[])).toFixed(0)} ms`, `${(p50(s) / p50(32)).toFixed(2)}×`]);
  await model.dispose();
}

const ONLY = process.env.BENCH_ONLY;
console.log(`# Paths: coverage against cost\n${machine()}`);
if (!ONLY || ONLY === 'A') sectionA();
if (!ONLY || ONLY === 'B') await sectionB();
if (!ONLY || ONLY === 'C') await sectionC();
