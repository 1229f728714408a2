import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { type BacktestReport, type Comparison, compareRuns, REPORT_SCHEMA } from '@kokex/core';
import { z } from 'zod';
import { DashboardErrorCode } from './errors.js';

/**
 * The backtests view's data: the `report.json` files `kokex backtest` wrote under one directory
 * (each run's `--out`), read only. Core has no zod schema of report.json (its `readReport` checks
 * the schema name), so the fields the page shows are checked here; a file that fails is listed with
 * its error and never reaches the page as a report. Comparisons are core's `compareRuns`.
 */
export const DEFAULT_BACKTESTS_DIR = 'backtests';

/** Directory levels searched below the backtests directory (`backtests/<plan>/report.json` is one). */
export const SCAN_DEPTH = 4;

/** Reports listed at most (the newest first). */
export const MAX_REPORTS = 500;

/** A report.json larger than this is listed as too large rather than read. */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;

/** The backtests directory: host config `backtestsDir`, else `KOKEX_BACKTESTS_DIR`, else `backtests`, from the working directory. */
export function backtestsDirOf(config: { backtestsDir?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, config.backtestsDir ?? (env.KOKEX_BACKTESTS_DIR || DEFAULT_BACKTESTS_DIR));
}

const n = z.number().finite();

/** The fields of report.json (schema `kokex.backtest.report/v1`, docs/backtest.md) the page shows; the rest passes through. */
export const shownReportSchema = z
  .object({
    schema: z.literal(REPORT_SCHEMA, { errorMap: () => ({ message: `expected "${REPORT_SCHEMA}"` }) }),
    plan: z
      .object({ name: z.string(), instrument: z.string(), timeframe: z.string(), venue: z.string(), mode: z.string(), capital: n })
      .passthrough(),
    window: z.object({ from: z.string(), to: z.string(), bars: n, replayed: n, partial: z.boolean() }).passthrough(),
    provenance: z.object({ seed: n, codeVersion: z.string(), models: z.array(z.string()), contractValue: n }).passthrough(),
    figures: z
      .object({
        startEquity: n,
        endEquity: n,
        totalReturn: n,
        annualizedReturn: n,
        maxDrawdown: n,
        maxDrawdownDurationMs: n,
        sharpe: n,
        sortino: n,
        trades: n,
        winRate: n,
        fees: n,
        exposure: n,
        buyAndHoldReturn: n,
      })
      .passthrough(),
    verdicts: z.object({ total: n, approved: n, denied: n, byReason: z.record(n) }).passthrough(),
    forecasts: z.object({ count: n, tradeable: n }).passthrough(),
    trades: z.array(z.object({ openedAt: n, closedAt: n, side: z.enum(['long', 'short']), pnl: n, fees: n }).passthrough()),
    series: z.object({ equity: z.array(z.tuple([n, n, n, n])) }).passthrough(),
  })
  .passthrough();

export type BacktestListing =
  | {
      id: string;
      ok: true;
      modifiedAt: number;
      plan: string;
      instrument: string;
      timeframe: string;
      venue: string;
      mode: string;
      window: { from: string; to: string; bars: number };
      models: string[];
      seed: number;
      figures: { totalReturn: number; maxDrawdown: number; sharpe: number; trades: number; endEquity: number };
    }
  | { id: string; ok: false; modifiedAt: number; error: string };

export class BacktestsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function issuesText(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return shown.join('; ') + (error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '');
}

/** One report.json read and checked: the report, or why it is not one. */
async function parseReport(file: string): Promise<{ report: BacktestReport } | { error: string }> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return { error: 'no report.json here' };
  if (info.size > MAX_REPORT_BYTES) return { error: `${info.size} bytes, over the ${MAX_REPORT_BYTES} the dashboard reads` };
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
  const parsed = shownReportSchema.safeParse(value);
  if (!parsed.success) return { error: `not a backtest report: ${issuesText(parsed.error)}` };
  return { report: parsed.data as unknown as BacktestReport };
}

/** The run directories under `root` that hold a report.json, as ids relative to it (`.` for root itself). */
async function findRuns(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.name === 'report.json' && (e.isFile() || e.isSymbolicLink())))
      found.push(relative(root, dir).split(sep).join('/') || '.');
    if (depth >= SCAN_DEPTH) return;
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name)))
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(join(dir, e.name), depth + 1);
  };
  await walk(root, 0);
  return found;
}

/** The reports under one directory, read only; listings are kept while a file's size and time are unchanged. */
export class BacktestsLibrary {
  readonly #listed = new Map<string, { key: string; listing: BacktestListing }>();

  constructor(readonly dir: string) {}

  /** Every run found, newest first; a file that is not a report is listed with its error. */
  async list(): Promise<{ dir: string; exists: boolean; reports: BacktestListing[] }> {
    const exists = (await stat(this.dir).catch(() => undefined))?.isDirectory() ?? false;
    if (!exists) return { dir: this.dir, exists, reports: [] };
    const ids = await findRuns(this.dir);
    const reports: BacktestListing[] = [];
    for (const id of ids) reports.push(await this.#listing(id));
    for (const id of this.#listed.keys()) if (!ids.includes(id)) this.#listed.delete(id);
    reports.sort((a, b) => b.modifiedAt - a.modifiedAt || a.id.localeCompare(b.id));
    return { dir: this.dir, exists, reports: reports.slice(0, MAX_REPORTS) };
  }

  /** One run's report, checked. */
  async report(id: string): Promise<BacktestReport> {
    const parsed = await parseReport(this.#file(id));
    if ('error' in parsed) throw this.#failure(id, parsed.error);
    return parsed.report;
  }

  /** Two or more runs side by side, by core's `compareRuns` (each checked first, so a bad one is named). */
  async compare(ids: string[]): Promise<Comparison> {
    const unique = [...new Set(ids)];
    if (unique.length < 2) throw new BacktestsError(400, DashboardErrorCode.BadRequest, 'a comparison needs two or more different runs');
    if (unique.length > 12) throw new BacktestsError(400, DashboardErrorCode.BadRequest, 'at most 12 runs are compared at once');
    for (const id of unique) await this.report(id);
    const comparison = await compareRuns(unique.map((id) => this.#file(id)));
    // The page names runs by id, not by this machine's paths.
    return { ...comparison, runs: comparison.runs.map((r, i) => ({ ...r, run: unique[i] as string })) };
  }

  #failure(id: string, error: string): BacktestsError {
    return error === 'no report.json here'
      ? new BacktestsError(404, DashboardErrorCode.NotFound, `no backtest ${id} in ${this.dir}`)
      : new BacktestsError(422, DashboardErrorCode.BadReport, `${id}/report.json: ${error}`);
  }

  /** The report.json of a run id, which must lie inside the backtests directory. */
  #file(id: string): string {
    if (!id || id.includes('\0') || id.includes('\\'))
      throw new BacktestsError(400, DashboardErrorCode.BadRequest, `bad backtest id ${JSON.stringify(id)}`);
    const root = resolve(this.dir);
    const dir = resolve(root, id);
    if (dir !== root && !dir.startsWith(root + sep))
      throw new BacktestsError(400, DashboardErrorCode.BadRequest, `backtest id ${JSON.stringify(id)} is outside ${this.dir}`);
    return join(dir, 'report.json');
  }

  async #listing(id: string): Promise<BacktestListing> {
    const file = this.#file(id);
    const info = await stat(file).catch(() => undefined);
    const modifiedAt = info?.mtimeMs ?? 0;
    const key = `${info?.size}:${modifiedAt}`;
    const kept = this.#listed.get(id);
    if (kept && kept.key === key) return kept.listing;
    const parsed = await parseReport(file);
    let listing: BacktestListing;
    if ('error' in parsed) listing = { id, ok: false, modifiedAt, error: parsed.error };
    else {
      const r = parsed.report;
      listing = {
        id,
        ok: true,
        modifiedAt,
        plan: r.plan.name,
        instrument: r.plan.instrument,
        timeframe: r.plan.timeframe,
        venue: r.plan.venue,
        mode: r.plan.mode,
        window: { from: r.window.from, to: r.window.to, bars: r.window.bars },
        models: r.provenance.models,
        seed: r.provenance.seed,
        figures: {
          totalReturn: r.figures.totalReturn,
          maxDrawdown: r.figures.maxDrawdown,
          sharpe: r.figures.sharpe,
          trades: r.figures.trades,
          endEquity: r.figures.endEquity,
        },
      };
    }
    this.#listed.set(id, { key, listing });
    return listing;
  }
}
