import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/backtest/report.js';
import { runBacktest } from '../src/backtest/run.js';
import { createLogger } from '../src/log/logger.js';
import { discoverPlugins } from '../src/plugin/loader.js';
import { RUN_T0, walkBars, writeData } from './fixtures/backtest-data.js';

/**
 * Walk-forward retraining (issue 11 item 4): with `--retrain` the plan's schedule fires in market
 * time, the trainer trains on a window that ends at the market time of the fire (never later),
 * and the inferencer swaps to the new model as live.
 *
 * The proof of "never later" is the look-ahead test's: training is deterministic and a model's
 * version is the hash of its graphs, so two runs whose data differ only after the fire must train
 * the very same version, while the forecasts after the fire (which see the changed bars) differ.
 */
const REPO = resolve(__dirname, '../..');
const MINUTE = 60_000;
const HISTORY = 120; // the plan's data window (2h) of 1m bars before the first replayed one
const REPLAY = 40; // 02:00 → 02:40; the cron fires once, at 02:25
const FIRE = RUN_T0 + (HISTORY + 25) * MINUTE;
const CAN_TRAIN = spawnSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' }).status === 0;
/** The trainer's smallest training that still runs both stages and exports (actors/trainer/test/support.ts). */
const TINY_TRAINING = { stepsPerEpoch: 2, batchSize: 4, valWindows: 4, lookback: 24, horizon: 8, epochs: 1, threads: 1 };

const PLAN = `apiVersion: kokex/v1
kind: Plan
metadata: { name: bt-retrain }
spec:
  venue: { name: okx, mode: sim }
  instrument: BTC-USDT-SWAP
  timeframe: 1m
  data: { window: 2h, sources: [venue] }
  forecast:
    lookback: 32
    horizon: 4
    paths: 4
    skillGate: { window: 50, minScored: 10 }
  model:
    retrain: { schedule: "25 * * * *", validationFraction: 0.3, epochs: { tokenizer: 1, predictor: 1 } }
  agent: { provider: offline-policy, triggers: [auto_inference] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 3000
    maxDailyLoss: 150
    maxOpenOrders: 2
    orderRate: { perMinute: 2, perHour: 30 }
    priceBand: 0.01
    requireTradeableForecast: false
`;

let root: string | undefined;
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function retrainRun(name: string, rows: string[]) {
  const dir = join(root as string, name);
  const dataDir = join(dir, 'data');
  await writeData(dataDir, 'okx_BTC-USDT-SWAP_1m_2026-01.csv', rows);
  const planFile = join(dir, 'plan.yaml');
  await writeFile(planFile, PLAN);
  const run = await runBacktest({
    planFile,
    dataDir,
    from: RUN_T0 + HISTORY * MINUTE,
    to: RUN_T0 + (HISTORY + REPLAY) * MINUTE,
    retrain: true,
    actorConfig: { trainer: { workDir: join(dir, 'trainer'), progressIntervalMs: 0, training: TINY_TRAINING } },
    log: createLogger({ level: 'error' }),
    pluginDirs: await discoverPlugins([join(REPO, 'actors'), join(REPO, 'plugins')]),
    codeVersion: 'test',
  });
  return { run, report: buildReport(run, run.contractValue) };
}

describe.skipIf(!CAN_TRAIN)('kokex backtest --retrain', () => {
  it('retrains at the fire on a window ending then, and the inferencer swaps to the new model', { timeout: 900_000 }, async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-bt-retrain-'));
    const bars = walkBars({ start: RUN_T0, count: HISTORY + REPLAY, price: 43_000, seed: 17 });
    // The same bars up to the fire's bar, another walk after it.
    const fireIndex = (FIRE - RUN_T0) / MINUTE;
    const other = walkBars({ start: RUN_T0, count: HISTORY + REPLAY, price: 43_000, seed: 99 });
    const changed = [...bars.slice(0, fireIndex + 1), ...other.slice(fireIndex + 1).map((r) => shiftRow(r, bars[fireIndex] as string))];

    const a = await retrainRun('a', bars);
    expect(a.report.provenance.retrain).toBe(true);
    // The shipped model forecast before the fire, the retrained one after it.
    const versions = (r: typeof a.run) =>
      r.collected.forecasts.map((f) => ({ time: f.eventTime, model: `${f.data.model.name}@${f.data.model.version}` }));
    const va = versions(a.run);
    const before = new Set(va.filter((f) => f.time < FIRE).map((f) => f.model));
    const after = new Set(va.filter((f) => f.time > FIRE + 2 * MINUTE).map((f) => f.model));
    expect(before.size).toBe(1);
    expect(after.size).toBe(1);
    const retrained = [...after][0] as string;
    expect(before.has(retrained)).toBe(false);
    expect(a.report.provenance.models).toContain(retrained);

    // Bars after the fire changed: the same model is trained (its window ended at the fire), and the
    // forecasts after the fire, which see the changed bars, are not the same.
    const b = await retrainRun('b', changed);
    const vb = versions(b.run);
    expect(new Set(vb.filter((f) => f.time > FIRE + 2 * MINUTE).map((f) => f.model))).toEqual(new Set([retrained]));
    const lastA = a.run.collected.forecasts.at(-1)?.data;
    const lastB = b.run.collected.forecasts.at(-1)?.data;
    expect(JSON.stringify(lastA?.quantiles)).not.toBe(JSON.stringify(lastB?.quantiles));
  });
});

/** Row `r` of another walk, moved to continue from `anchor`'s close (so the changed series has no jump). */
function shiftRow(r: string, anchor: string): string {
  const [ts, ...rest] = r.split(',');
  const base = Number(anchor.split(',')[4]);
  const scale = base / 43_000;
  const [o, h, l, c, v] = rest.map(Number) as [number, number, number, number, number];
  const round = (x: number) => Math.round(x * scale * 10) / 10;
  return `${ts},${round(o)},${round(h)},${round(l)},${round(c)},${v}`;
}
