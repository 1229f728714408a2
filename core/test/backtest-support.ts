import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BacktestReport, buildReport, reportJson } from '../src/backtest/report.js';
import { runBacktest } from '../src/backtest/run.js';
import { createLogger } from '../src/log/logger.js';
import { discoverPlugins } from '../src/plugin/loader.js';
import { tinyPlan } from './fixtures/backtest-data.js';

const REPO = resolve(__dirname, '../..');

/** Runs `kokex backtest`'s harness on a data directory and returns the report and its bytes. */
export async function backtest(o: {
  root: string;
  dataDir: string;
  from: number;
  to: number;
}): Promise<{ report: BacktestReport; json: string }> {
  const planFile = join(o.root, 'plan.yaml');
  await mkdir(o.root, { recursive: true });
  await writeFile(planFile, tinyPlan('bt'));
  const run = await runBacktest({
    planFile,
    dataDir: o.dataDir,
    from: o.from,
    to: o.to,
    log: createLogger({ level: 'error' }),
    pluginDirs: await discoverPlugins([join(REPO, 'actors'), join(REPO, 'plugins')]),
    codeVersion: 'test',
  });
  const report = buildReport(run, run.contractValue);
  return { report, json: reportJson(report) };
}
