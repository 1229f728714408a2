/**
 * Held-out evaluation of Kronos exports with the project's own skill metrics, several models side
 * by side on the same origins and seeds (`node --import tsx --conditions=kokex-source scripts/eval-model.ts`).
 *
 * For every data file (gzip CSV `ts,open,high,low,close,volume` in KOKEX_DATA_DIR, default
 * ../shared/data) the bars from `--test-from` on are the held-out test period. Origins:
 *  - test: the forecast's first bar at or after --test-from, its last inside the file; one every
 *    `--stride` bars (default: the horizon, so forecasts never overlap; more when --max-origins
 *    caps them, spread evenly);
 *  - calibration: the `--calib` non-overlapping origins just before the test period whose whole
 *    horizon closes before it. Their scored forecasts fit the plan's calibration (isotonic P(up),
 *    per-step conformal bands, as the inferencer does); the fit is then frozen for the test
 *    period, so calibration never sees a held-out month.
 * Each origin is forecast through the TypeScript runtime (KronosModel, as the inferencer runs it),
 * turned into the published statistics by the inferencer's buildForecast and scored by its
 * scoreForecast: CRPS of the close (mean over steps, log-return units) against the random walk
 * and persistence, coverage of the calibrated 80% / 90% bands (and of the raw ones, with the
 * coverage expected for that many paths), Brier of P(up) (0.25 for a constant ½) and hit rate.
 * `dm` is the Diebold–Mariano test of the model's CRPS against the random walk's (lag from the
 * stride's overlap): p small = the model is significantly better.
 *
 * Options: --model NAME=DIR (repeat; default old=models/kronos/shipped), --data FILE (repeat),
 * --test-from ISO (default 2025-11-20), --horizon 24, --paths 32, --lookback (default the card's),
 * --calib 150, --max-origins 150, --stride, --seed 1, --temperature 1, --top-p 0.9, --top-k 0,
 * --batch 8 (requests per runtime call), --json, --card NAME (write the figures into the card.json
 * of model NAME under `evaluation`, with the other models' figures on the same origins beside them;
 * `python3 -m kronos export` keeps that section while the graphs, hence the version, are unchanged),
 * --select-sampling T:P,T:P,... (temperature:topP candidates: each is scored on the calibration
 * origins only, and the one with the lowest CRPS there is used for the test period; the default
 * is the --temperature/--top-p given), --note TEXT (a caveat stored with --card).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  buildForecast,
  dieboldMariano,
  emptyRecord,
  fitCalibration,
  overlapLag,
  type ScoredForecast,
  scoreForecast,
  seriesFromPlan,
  summarize,
} from '@kokex/actor-inferencer';
import { loadPlanFile } from '@kokex/core';
import { type CandleRow, KronosModel } from '@kokex/kronos-runtime';
import { machine } from './bench/lib/report.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    data: { type: 'string', multiple: true },
    'test-from': { type: 'string', default: '2025-11-20' },
    horizon: { type: 'string', default: '24' },
    paths: { type: 'string', default: '32' },
    lookback: { type: 'string' },
    calib: { type: 'string', default: '150' },
    'max-origins': { type: 'string', default: '150' },
    stride: { type: 'string' },
    seed: { type: 'string', default: '1' },
    temperature: { type: 'string', default: '1' },
    'top-p': { type: 'string', default: '0.9' },
    'top-k': { type: 'string', default: '0' },
    batch: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    card: { type: 'string' },
    'select-sampling': { type: 'string' },
    note: { type: 'string' },
  },
});

const DATA_DIR = resolve(ROOT, process.env.KOKEX_DATA_DIR ?? '../shared/data');
const HORIZON = Number(opt.horizon);
const PATHS = Number(opt.paths);
const CALIB = Number(opt.calib);
const MAX_ORIGINS = Number(opt['max-origins']);
const SEED = Number(opt.seed);
const BATCH = Number(opt.batch);
const TEST_FROM = Date.parse(/T/.test(opt['test-from'] as string) ? (opt['test-from'] as string) : `${opt['test-from']}T00:00:00Z`);
const SAMPLING = { temperature: Number(opt.temperature), topK: Number(opt['top-k']), topP: Number(opt['top-p']) };
const MODELS = (opt.model ?? ['old=models/kronos/shipped']).map((m) => {
  const [name, dir] = m.includes('=') ? (m.split('=', 2) as [string, string]) : [m, m];
  return { name, dir: resolve(ROOT, dir) };
});
const DATA = opt.data ?? [
  'binance_ETHUSDT_1h_2024-09_2026-02.csv.gz',
  'binance_ETHUSDT_5m_2024-12_2026-02.csv.gz',
  'binance_BTCUSDT_1h_2021-06_2026-06.csv.gz',
  'binance_BTCUSDT_5m_2024-12_2026-02.csv.gz',
];
if (!Number.isFinite(TEST_FROM)) throw new Error(`--test-from ${opt['test-from']} is not a date`);

const log = (msg: string) => {
  if (!opt.json) console.log(msg);
  else process.stderr.write(`${msg}\n`);
};

function readCandles(file: string): CandleRow[] {
  const path = existsSync(file) ? file : join(DATA_DIR, file);
  if (!existsSync(path)) throw new Error(`${file}: not found in ${DATA_DIR}; set KOKEX_DATA_DIR to the directory holding it`);
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const rows: CandleRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as number[];
    rows.push({
      ts: ts as number,
      open: open as number,
      high: high as number,
      low: low as number,
      close: close as number,
      volume: volume as number,
    });
  }
  return rows;
}

/** Origins (index of the last bar the forecast sees): the test ones and the calibration ones before them. */
function origins(rows: readonly CandleRow[], lookback: number): { test: number[]; calib: number[]; stride: number } {
  const first = rows.findIndex((r) => r.ts >= TEST_FROM);
  if (first < 0) return { test: [], calib: [], stride: HORIZON };
  const lastOrigin = rows.length - 1 - HORIZON;
  const span = lastOrigin - (first - 1) + 1;
  const stride = opt.stride ? Number(opt.stride) : Math.max(HORIZON, Math.floor(span / MAX_ORIGINS));
  const test: number[] = [];
  for (let i = first - 1; i <= lastOrigin && test.length < MAX_ORIGINS; i += stride) if (i >= lookback - 1) test.push(i);
  const calib: number[] = [];
  for (let i = first - 1 - HORIZON; i >= lookback - 1 && calib.length < CALIB; i -= HORIZON) calib.unshift(i);
  return { test, calib, stride };
}

const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

interface Summary {
  model: string;
  version: string;
  data: string;
  test: { from: string; to: string; origins: number; stride: number };
  calibration: { from: string; to: string; origins: number };
  paths: number;
  horizon: number;
  lookback: number;
  sampling: { temperature: number; topK: number; topP: number };
  selection?: Array<{ temperature: number; topP: number; calibCrpsRatio: number }>;
  crps: { model: number; randomWalk: number; persistence: number; ratioRandomWalk: number; ratioPersistence: number };
  dm: { vsRandomWalk: { pValue: number; statistic: number; effectiveSamples: number }; vsPersistence: { pValue: number } };
  coverage: {
    calibrated80: number;
    calibrated90: number;
    raw80: number;
    raw90: number;
    expectedRaw80: number;
    expectedRaw90: number;
    randomWalk80: number;
    randomWalk90: number;
  };
  brier: { calibrated: number; raw: number; constantHalf: number };
  hit: { calibrated: number; raw: number };
  upShare: number;
}

async function main(): Promise<void> {
  const plan = await loadPlanFile(join(ROOT, 'plans/demo.yaml'));
  const base = seriesFromPlan(plan);
  const results: Summary[] = [];
  log(
    `# held-out evaluation: ${machine()}; test from ${iso(TEST_FROM)}, horizon ${HORIZON}, ${PATHS} paths, sampling ${JSON.stringify(SAMPLING)}`,
  );
  for (const m of MODELS) {
    const model = await KronosModel.load({ dir: m.dir });
    const lookback = opt.lookback ? Number(opt.lookback) : (model.card.config.lookback ?? model.maxContext - HORIZON);
    const series = {
      ...base,
      forecast: {
        ...base.forecast,
        lookback,
        horizon: HORIZON,
        paths: PATHS,
        ...SAMPLING,
        calibration: {
          ...base.forecast.calibration,
          probability: 'isotonic' as const,
          bands: 'conformal' as const,
          minSamples: Math.min(CALIB, 100),
        },
      },
    };
    const skill = summarize(
      emptyRecord({ model: m.name, version: model.card.version, inst: 'eval', tf: 'eval' }, 500),
      series.forecast.skillGate,
      0,
    );
    for (const file of DATA) {
      const rows = readCandles(file);
      const o = origins(rows, lookback);
      if (o.test.length === 0) {
        log(`${file}: no bars from ${iso(TEST_FROM)} on; skipped`);
        continue;
      }
      const started = Date.now();
      const run = async (idx: readonly number[], calibration: ReturnType<typeof fitCalibration>[], sampling = SAMPLING) => {
        const out: ScoredForecast[][] = calibration.map(() => []);
        for (let b = 0; b < idx.length; b += BATCH) {
          const chunk = idx.slice(b, b + BATCH);
          const requests = chunk.map((i) => ({
            candles: rows.slice(i - lookback + 1, i + 1),
            futureTs: rows.slice(i + 1, i + 1 + HORIZON).map((r) => r.ts),
            paths: PATHS,
            sampling,
            seed: SEED * 1_000_003 + i,
          }));
          const res = await model.forecast(requests);
          chunk.forEach((i, k) => {
            const seen = rows.slice(i - lookback + 1, i + 1);
            const last = seen[seen.length - 1] as CandleRow;
            const actual = rows.slice(i + 1, i + 1 + HORIZON).map((r) => r.close);
            calibration.forEach((cal, c) => {
              const { pending } = buildForecast({
                series,
                asOf: last.ts,
                lastClose: last.close,
                closes: seen.map((r) => r.close),
                steps: requests[k]?.futureTs as number[],
                result: res[k] as NonNullable<(typeof res)[number]>,
                calibration: cal,
                skill,
                model: { name: m.name, version: model.card.version },
                executionProvider: model.executionProvider,
                seed: requests[k]?.seed as number,
                computeMs: 0,
              });
              out[c]?.push(scoreForecast(pending, actual));
            });
          });
        }
        return out;
      };
      const identity = fitCalibration([], series.forecast.calibration, HORIZON);
      // Sampling settings chosen on the calibration origins only (never on the test period).
      let sampling = SAMPLING;
      let calScored: ScoredForecast[] | undefined;
      const candidates = (opt['select-sampling'] ?? '')
        .split(',')
        .filter(Boolean)
        .map((c) => {
          const [t, p] = c.split(':').map(Number);
          return { temperature: t as number, topK: SAMPLING.topK, topP: p as number };
        });
      const selection: Array<{ temperature: number; topP: number; calibCrpsRatio: number }> = [];
      for (const cand of candidates) {
        const [scored] = (await run(o.calib, [identity], cand)) as [ScoredForecast[]];
        const ratio = mean(scored.map((x) => x.model.crps)) / mean(scored.map((x) => x.baselines['random-walk'].crps));
        selection.push({ temperature: cand.temperature, topP: cand.topP, calibCrpsRatio: ratio });
        log(`  ${m.name} ${file} calibration origins, temperature ${cand.temperature} topP ${cand.topP}: CRPS/RW ${ratio.toFixed(4)}`);
        if (ratio <= Math.min(...selection.map((x) => x.calibCrpsRatio))) {
          sampling = cand;
          calScored = scored;
        }
      }
      if (!calScored) [calScored] = (await run(o.calib, [identity])) as [ScoredForecast[]];
      const calibration = fitCalibration(calScored as ScoredForecast[], series.forecast.calibration, HORIZON);
      const [cal, raw] = (await run(o.test, [calibration, identity], sampling)) as [ScoredForecast[], ScoredForecast[]];
      const lag = overlapLag(HORIZON, o.stride);
      const crpsM = cal.map((s) => s.model.crps);
      const crpsRw = cal.map((s) => s.baselines['random-walk'].crps);
      const crpsP = cal.map((s) => s.baselines.persistence.crps);
      const dmRw = dieboldMariano(
        crpsM.map((v, i) => v - (crpsRw[i] as number)),
        lag,
      );
      const dmP = dieboldMariano(
        crpsM.map((v, i) => v - (crpsP[i] as number)),
        lag,
      );
      const first = o.test[0] as number;
      const lastO = o.test[o.test.length - 1] as number;
      const s: Summary = {
        model: m.name,
        version: model.card.version,
        data: file,
        test: {
          from: iso((rows[first + 1] as CandleRow).ts),
          to: iso((rows[lastO + HORIZON] as CandleRow).ts),
          origins: o.test.length,
          stride: o.stride,
        },
        calibration: {
          from: iso((rows[(o.calib[0] as number) + 1] as CandleRow).ts),
          to: iso((rows[(o.calib[o.calib.length - 1] as number) + HORIZON] as CandleRow).ts),
          origins: o.calib.length,
        },
        paths: PATHS,
        horizon: HORIZON,
        lookback,
        sampling,
        ...(selection.length > 0 ? { selection } : {}),
        crps: {
          model: mean(crpsM),
          randomWalk: mean(crpsRw),
          persistence: mean(crpsP),
          ratioRandomWalk: mean(crpsM) / mean(crpsRw),
          ratioPersistence: mean(crpsM) / mean(crpsP),
        },
        dm: {
          vsRandomWalk: { pValue: dmRw.pValue, statistic: dmRw.statistic, effectiveSamples: dmRw.effectiveSamples },
          vsPersistence: { pValue: dmP.pValue },
        },
        coverage: {
          calibrated80: mean(cal.map((x) => x.cover80)),
          calibrated90: mean(cal.map((x) => x.cover90)),
          raw80: mean(raw.map((x) => x.cover80)),
          raw90: mean(raw.map((x) => x.cover90)),
          expectedRaw80: raw[0]?.expected80 ?? Number.NaN,
          expectedRaw90: raw[0]?.expected90 ?? Number.NaN,
          randomWalk80: mean(cal.map((x) => x.baselines['random-walk'].cover80 ?? Number.NaN)),
          randomWalk90: mean(cal.map((x) => x.baselines['random-walk'].cover90 ?? Number.NaN)),
        },
        brier: { calibrated: mean(cal.map((x) => x.model.brier)), raw: mean(raw.map((x) => x.model.brier)), constantHalf: 0.25 },
        hit: { calibrated: mean(cal.map((x) => x.model.hit)), raw: mean(raw.map((x) => x.model.hit)) },
        upShare: mean(cal.map((x) => x.up)),
      };
      results.push(s);
      const f = (v: number, d = 3) => v.toFixed(d);
      log(
        `${m.name} ${file} (T ${sampling.temperature} topP ${sampling.topP}): ${s.test.origins} origins ${s.test.from} → ${s.test.to} (stride ${o.stride}), calib ${s.calibration.origins} | ` +
          `CRPS/RW ${f(s.crps.ratioRandomWalk)} (DM p ${f(s.dm.vsRandomWalk.pValue)}) CRPS/persist ${f(s.crps.ratioPersistence)} | ` +
          `cover80 ${f(s.coverage.calibrated80)} cover90 ${f(s.coverage.calibrated90)} (raw ${f(s.coverage.raw80)}/${f(s.coverage.raw90)}) | ` +
          `Brier ${f(s.brier.calibrated, 4)} (raw ${f(s.brier.raw, 4)}) hit ${f(s.hit.calibrated)} | ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    await model.dispose();
  }
  if (opt.card) {
    const target = MODELS.find((m) => m.name === opt.card);
    if (!target) throw new Error(`--card ${opt.card}: no --model of that name`);
    const cardPath = join(target.dir, 'card.json');
    const card = JSON.parse(readFileSync(cardPath, 'utf8'));
    const own = results.filter((r) => r.model === target.name);
    if (own.some((r) => r.version !== card.version)) throw new Error(`${cardPath}: its version changed while it was evaluated`);
    card.evaluation = {
      format: 'kokex-kronos-eval/1',
      command: `node --import tsx --conditions=kokex-source scripts/eval-model.ts ${process.argv.slice(2).join(' ')}`,
      machine: machine(),
      testFrom: iso(TEST_FROM),
      note:
        'test period: bars from testFrom on (a model trained with --test-from at that time never saw them: data.test_from; otherwise see caveat), never used by calibration; ' +
        'calibration (isotonic P(up), per-step conformal bands) fitted on the non-overlapping origins just before it; ' +
        'CRPS of the close in log-return units averaged over the horizon; ratios are model / baseline (below 1 = better)',
      ...(opt.note ? { caveat: opt.note } : {}),
      horizon: HORIZON,
      paths: PATHS,
      sampling: SAMPLING,
      seed: SEED,
      results: own.map(({ model: _m, version: _v, ...rest }) => rest),
      compared: MODELS.filter((m) => m !== target).map((m) => ({
        name: m.name,
        version: results.find((r) => r.model === m.name)?.version,
        results: results.filter((r) => r.model === m.name).map(({ model: _m, version: _v, ...rest }) => rest),
      })),
    };
    writeFileSync(cardPath, `${JSON.stringify(card, null, 2)}\n`);
    log(`wrote the evaluation into ${cardPath}`);
  }
  if (opt.json) {
    console.log(
      JSON.stringify(
        {
          machine: machine(),
          testFrom: iso(TEST_FROM),
          horizon: HORIZON,
          paths: PATHS,
          sampling: SAMPLING,
          seed: SEED,
          models: MODELS.map((m) => ({ name: m.name, dir: m.dir })),
          results,
        },
        null,
        2,
      ),
    );
  }
}

await main();
