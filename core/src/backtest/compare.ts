import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KokexError } from '../errors.js';
import { stable } from './figures.js';
import { type BacktestReport, REPORT_SCHEMA } from './report.js';

/**
 * `kokex backtest compare <run> <run>…`: the figures of several reports side by side (two model
 * versions, two policies, two risk settings), each run's difference from the first.
 */
export interface Comparison {
  runs: Array<{ run: string; plan: string; window: string; models: string[]; seed: number }>;
  /** Figure name → the value in each run. */
  figures: Record<string, number[]>;
  /** Figure name → each run's value minus the first run's (the first is 0). */
  differences: Record<string, number[]>;
}

/** A run is its `--out` directory or the report.json in it. */
export async function readReport(run: string): Promise<BacktestReport> {
  const path = (await stat(run).catch(() => undefined))?.isDirectory() ? join(run, 'report.json') : run;
  let parsed: BacktestReport;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as BacktestReport;
  } catch (err) {
    throw new KokexError(ErrorCode.BacktestRun, `${path}: not a backtest report (${(err as Error).message})`);
  }
  if (parsed.schema !== REPORT_SCHEMA)
    throw new KokexError(ErrorCode.BacktestRun, `${path}: schema "${parsed.schema}", expected ${REPORT_SCHEMA}`);
  return parsed;
}

/** The figures compared: every numeric figure, then verdict and forecast counts. */
function flatFigures(r: BacktestReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.figures)) if (typeof v === 'number') out[k] = v;
  out.verdicts = r.verdicts.total;
  out.approved = r.verdicts.approved;
  out.denied = r.verdicts.denied;
  for (const [reason, n] of Object.entries(r.verdicts.byReason)) out[`verdicts.${reason}`] = n;
  out.forecasts = r.forecasts.count;
  out.tradeableForecasts = r.forecasts.tradeable;
  const crps = r.forecasts.skill?.model.crps;
  if (crps !== undefined) out['skill.crps'] = crps;
  const brier = r.forecasts.skill?.model.brier;
  if (brier !== undefined) out['skill.brier'] = brier;
  return out;
}

export async function compareRuns(runs: string[]): Promise<Comparison> {
  if (runs.length < 2)
    throw new KokexError(ErrorCode.BacktestRun, 'backtest compare needs at least two runs (their --out directories or report.json files)');
  const reports = await Promise.all(runs.map(readReport));
  const flats = reports.map(flatFigures);
  const names: string[] = [];
  for (const f of flats) for (const k of Object.keys(f)) if (!names.includes(k)) names.push(k);
  const figures: Record<string, number[]> = {};
  const differences: Record<string, number[]> = {};
  for (const name of names) {
    const values = flats.map((f) => f[name] ?? 0);
    figures[name] = values;
    differences[name] = values.map((v) => stable(v - (values[0] as number)));
  }
  return {
    runs: reports.map((r, i) => ({
      run: runs[i] as string,
      plan: r.plan.name,
      window: `${r.window.from} → ${r.window.to}`,
      models: r.provenance.models,
      seed: r.provenance.seed,
    })),
    figures,
    differences,
  };
}

const PERCENT = new Set(['totalReturn', 'annualizedReturn', 'maxDrawdown', 'winRate', 'exposure', 'buyAndHoldReturn']);

function cell(name: string, v: number): string {
  if (PERCENT.has(name)) return `${(v * 100).toFixed(2)}%`;
  if (name === 'maxDrawdownDurationMs') return `${(v / 3_600_000).toFixed(1)}h`;
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** The comparison as a table: one row per figure, a column per run, then each run's difference from the first. */
export function comparisonTable(c: Comparison): string {
  const head = ['FIGURE', ...c.runs.map((_, i) => `RUN ${i + 1}`), ...c.runs.slice(1).map((_, i) => `Δ ${i + 2}-1`)];
  const body = Object.keys(c.figures).map((name) => [
    name,
    ...(c.figures[name] as number[]).map((v) => cell(name, v)),
    ...(c.differences[name] as number[]).slice(1).map((d) => (d > 0 ? '+' : '') + cell(name, d)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => x.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const legend = c.runs.map(
    (r, i) => `RUN ${i + 1}: ${r.run} (plan ${r.plan}, ${r.window}, ${r.models.join(', ') || 'no model'}, seed ${r.seed})`,
  );
  return [...legend, '', line(head), ...body.map(line)].join('\n');
}
