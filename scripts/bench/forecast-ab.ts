/**
 * A/B of the Kronos runtime against an earlier commit's, in one process (issue 17): prints figures,
 * asserts nothing. On a machine shared with other work only interleaved runs compare: the two
 * runtimes alternate forecast by forecast and the medians of each stage are compared.
 *
 *   node --import tsx --conditions=kokex-source scripts/bench/forecast-ab.ts --base=REV
 *     [--model=shipped|small] [--lookback=N] [--paths=N] [--json]
 *
 * REV's `models/kronos-runtime/src` is copied into node_modules/.cache/kokex-forecast-ab/REV (so it
 * resolves the same dependencies) and loaded beside the working tree's runtime, both with the
 * default session options, on the same model. BENCH_REPS (default 12) rounds after one warm-up.
 * Also prints whether both gave the same tokens (a seeded top-p forecast).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CandleRow, KronosModel } from '@kokex/kronos-runtime';
import { machine, percentile } from './lib/report.js';

const ROOT = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const JSON_OUT = args.includes('--json');
const BASE = arg('base', 'HEAD');
const MODEL = arg('model', 'shipped');
const LOOKBACK = Number(arg('lookback', MODEL === 'shipped' ? '96' : '256'));
const PATHS = Number(arg('paths', '32'));
const REPS = Number(process.env.BENCH_REPS ?? 12);
const HOUR = 3_600_000;
const HORIZON = 24;
const log = (line = '') => (JSON_OUT ? console.error(line) : console.log(line));

type Model = Pick<KronosModel, 'forecast' | 'dispose'>;
interface Loader {
  load(source: { dir: string }, options?: object): Promise<Model>;
}

/** The runtime of commit `rev`, copied beside the workspace's dependencies. */
async function baseRuntime(rev: string): Promise<Loader> {
  const sha = execFileSync('git', ['rev-parse', rev], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(ROOT, 'node_modules/.cache/kokex-forecast-ab', sha, 'src');
  mkdirSync(dir, { recursive: true });
  const files = execFileSync('git', ['ls-tree', '--name-only', sha, 'models/kronos-runtime/src/'], { cwd: ROOT, encoding: 'utf8' })
    .trim()
    .split('\n');
  for (const f of files)
    writeFileSync(join(dir, f.split('/').pop() as string), execFileSync('git', ['show', `${sha}:${f}`], { cwd: ROOT }));
  const mod = (await import(pathToFileURL(join(dir, 'index.ts')).href)) as { KronosModel: Loader };
  return mod.KronosModel;
}

function modelDir(): string {
  if (MODEL === 'shipped') return join(ROOT, 'models/kronos/shipped');
  // The bench's export (npm run bench -- forecast makes it): the official layout with random weights.
  return join(tmpdir(), `kokex-bench-kronos-${MODEL}`, 'onnx');
}

function candles(count: number): CandleRow[] {
  let close = 30_000;
  return Array.from({ length: count }, (_, i) => {
    const open = close;
    close = open * (1 + 0.01 * Math.sin(i * 1.7));
    return {
      ts: Date.UTC(2026, 0, 1) + i * HOUR,
      open,
      high: Math.max(open, close) * 1.002,
      low: Math.min(open, close) * 0.998,
      close,
      volume: 100 + (i % 7),
    };
  });
}

const dir = modelDir();
const Base = await baseRuntime(BASE);
const models: Record<'base' | 'work', Model> = { base: await Base.load({ dir }), work: await KronosModel.load({ dir }) };
const bars = candles(LOOKBACK);
const last = bars[bars.length - 1]?.ts as number;
const request = {
  candles: bars,
  futureTs: Array.from({ length: HORIZON }, (_, k) => last + (k + 1) * HOUR),
  paths: PATHS,
  sampling: { temperature: 1, topK: 0, topP: 0.9 },
  seed: 1,
};
const loadStart = loadavg();
const samples: Record<'base' | 'work', Record<string, number[]>> = { base: {}, work: {} };
const tokens: Record<string, string> = {};
for (let r = 0; r <= REPS; r++) {
  for (const side of ['base', 'work'] as const) {
    const started = performance.now();
    const [out] = await models[side].forecast([request]);
    const wallMs = performance.now() - started;
    if (!out) throw new Error('no forecast');
    if (r === 0) {
      tokens[side] = `${Array.from(out.s1)}|${Array.from(out.s2)}`;
      continue;
    }
    const t = out.timings as unknown as Record<string, number>;
    for (const [k, v] of Object.entries({ ...t, wallMs })) {
      const list = samples[side][k] ?? [];
      list.push(v);
      samples[side][k] = list;
    }
  }
}
for (const m of Object.values(models)) await m.dispose();
const stages = Object.keys(samples.work);
const rows = stages.map((k) => {
  const base = percentile(samples.base[k] ?? [], 0.5);
  const work = percentile(samples.work[k] ?? [], 0.5);
  return { stage: k, baseMs: base, workMs: work, ratio: work / base };
});
log(`# Kronos runtime A/B: ${BASE} against the working tree`);
log(`machine: ${machine()}`);
log(`model ${MODEL}, lookback ${LOOKBACK}, ${PATHS} paths, horizon ${HORIZON}, top-p 0.9; ${REPS} alternating rounds after a warm-up`);
log(
  `load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
log(`same tokens: ${tokens.base === tokens.work}`);
log('| stage | base p50 | work p50 | work / base |');
log('| --- | --- | --- | --- |');
for (const r of rows) log(`| ${r.stage} | ${r.baseMs.toFixed(1)} ms | ${r.workMs.toFixed(1)} ms | ${r.ratio.toFixed(2)} |`);
if (JSON_OUT) {
  console.log(
    JSON.stringify({
      machine: machine(),
      base: BASE,
      model: MODEL,
      lookback: LOOKBACK,
      paths: PATHS,
      reps: REPS,
      loadStart,
      loadEnd: loadavg(),
      sameTokens: tokens.base === tokens.work,
      rows,
    }),
  );
}
