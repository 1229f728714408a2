import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareRuns, comparisonTable } from '../backtest/compare.js';
import { GAP_POLICIES, type GapPolicy } from '../backtest/data.js';
import { chartScript, renderHtml } from '../backtest/html.js';
import { type BacktestReport, buildReport, reportJson } from '../backtest/report.js';
import { type BacktestProgress, runBacktest } from '../backtest/run.js';
import type { Logger } from '../log/logger.js';
import { UsageError } from './errors.js';
import { findPlugins } from './runtime.js';

export const BACKTEST_USAGE = `usage: kokex backtest <plan.yaml> --data DIR [--from T] [--to T] [--seed N] [--out DIR] [--gaps error|carry] [--retrain] [--nats URL [--keep]]
       kokex backtest compare <run> <run>… [--json]

  Replays history through the plan's own actors (feed, validator, inferencer, agent, risk guard,
  executor) on a fresh embedded nats-server, with the OKX simulator in lockstep: the next bar is
  released only when the pipeline has settled on the previous one, so the result does not depend
  on machine speed. Same plan, data and seed: the same report.json, byte for byte.

  --data DIR     candle CSV files (okx_{inst}_1m_….csv[.gz] or binance_{symbol}_1m_…; default KOKEX_DATA_DIR)
  --from, --to   replay window, ISO time or Unix ms (default: the data after the plan's history window, to its end)
  --seed N       forecast sampling seed (default: the plan's forecast.seed, else 1)
  --out DIR      where report.json and report.html go (default backtests/<plan>)
  --gaps POLICY  error (default): a gap in the data stops the run naming file and line;
                 carry: missing bars are filled flat at the previous close and listed in the report
  --retrain      also run the trainer and scheduler: the plan's retrain schedule fires in market time
  --nats URL     run on this nats-server (credentials: NATS_USER, NATS_PASSWORD, NATS_NKEY_SEED, as kokex up)
                 instead of an embedded one: every stream, KV bucket and subject of the run carries a run id
                 (kxbt-{run}-…), so a live plan of the same name is never touched; deleted at the end
  --keep         with --nats: leave the run's streams and buckets on the server (the run id is printed)
  Ctrl-C stops cleanly and writes a partial report.

  compare: the figures of two or more runs (their --out directories) side by side, with differences.`;

function parseTime(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be an ISO time (2025-06-01T00:00Z) or Unix ms, got "${text}"`);
  return n;
}

/** `git describe` of this checkout, else the package version. */
export async function codeVersion(): Promise<string> {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  try {
    return execFileSync('git', ['describe', '--always', '--tags', '--dirty'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
    return `@kokex/core ${pkg.version}`;
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The terminal's summary table. */
export function summaryTable(r: BacktestReport): string {
  const f = r.figures;
  const rows: Array<[string, string]> = [
    ['plan', `${r.plan.name} ${r.plan.instrument} ${r.plan.timeframe} (capital ${r.plan.capital})`],
    ['window', `${r.window.from} → ${r.window.to}, ${r.window.replayed}/${r.window.bars} bars${r.window.partial ? ' PARTIAL' : ''}`],
    ['return', `${pct(f.totalReturn)} (annualised ${pct(f.annualizedReturn)}; buy and hold ${pct(f.buyAndHoldReturn)})`],
    ['max drawdown', `${pct(f.maxDrawdown)}, longest ${(f.maxDrawdownDurationMs / 3_600_000).toFixed(1)} h under a peak`],
    ['Sharpe / Sortino', `${f.sharpe.toFixed(2)} / ${f.sortino.toFixed(2)} (${f.ratioFrequency})`],
    ['trades', `${f.trades}, win rate ${pct(f.winRate)}, avg win ${f.averageWin.toFixed(4)}, avg loss ${f.averageLoss.toFixed(4)}`],
    ['fees, exposure, turnover', `${f.fees.toFixed(4)}, ${pct(f.exposure)}, ${f.turnover.toFixed(2)}`],
    [
      'verdicts',
      `${r.verdicts.total} (${
        Object.entries(r.verdicts.byReason)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      })`,
    ],
    [
      'forecasts',
      `${r.forecasts.count} (${r.forecasts.tradeable} tradeable)${r.forecasts.skill ? `, skill ${r.forecasts.skill.scored}/${r.forecasts.skill.window} scored: ${r.forecasts.skill.reason}` : ''}`,
    ],
    ['model, seed, code', `${r.provenance.models.join(', ') || '-'}, seed ${r.provenance.seed}, ${r.provenance.codeVersion}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

function progressLine(p: BacktestProgress): string {
  const width = 30;
  const filled = Math.round((p.done / Math.max(1, p.total)) * width);
  const eta = p.etaMs > 0 ? `${Math.ceil(p.etaMs / 1000)} s` : '-';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} bars ${new Date(p.ts).toISOString().slice(0, 16)}Z  ${p.barsPerSec.toFixed(1)} bars/s  ETA ${eta}`;
}

export interface BacktestCommandIo {
  print: (line: string) => void;
  /** Progress (stderr). */
  status: (text: string, final?: boolean) => void;
  log: Logger;
  signal: AbortSignal;
}

export async function backtestCommand(argv: string[], io: BacktestCommandIo): Promise<number> {
  if (argv[0] === 'compare') {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean' } },
    });
    const c = await compareRuns(positionals);
    io.print(values.json ? JSON.stringify(c, null, 2) : comparisonTable(c));
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      data: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      gaps: { type: 'string' },
      retrain: { type: 'boolean' },
      nats: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const [planFile, ...extra] = positionals;
  if (!planFile || extra.length) throw new UsageError(BACKTEST_USAGE);
  if (values.keep && !values.nats) throw new UsageError('--keep goes with --nats URL: an embedded server is always deleted');
  if (values.nats !== undefined && !/^(nats:\/\/)?[^/\s:]+(:\d+)?$/.test(values.nats))
    throw new UsageError(`--nats must be a nats://host:port URL (TLS is not relayed), got "${values.nats}"`);
  const dataDir = values.data ?? process.env.KOKEX_DATA_DIR;
  if (!dataDir) throw new UsageError('kokex backtest needs --data DIR (or KOKEX_DATA_DIR): a directory of candle CSV files');
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0))
    throw new UsageError(`--seed must be a whole number >= 0, got "${values.seed}"`);
  const gaps = values.gaps as GapPolicy | undefined;
  if (gaps !== undefined && !GAP_POLICIES.includes(gaps))
    throw new UsageError(`--gaps must be ${GAP_POLICIES.join(' or ')}, got "${values.gaps}"`);
  const from = parseTime('--from', values.from);
  const to = parseTime('--to', values.to);
  let lastShown = 0;
  const run = await runBacktest({
    planFile,
    dataDir,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(gaps ? { gaps } : {}),
    retrain: values.retrain === true,
    ...(values.nats ? { nats: { url: values.nats, keep: values.keep === true } } : {}),
    log: io.log,
    pluginDirs: await findPlugins(),
    codeVersion: await codeVersion(),
    signal: io.signal,
    progress: (p) => {
      const now = performance.now();
      if (p.done === p.total || now - lastShown > 250) {
        lastShown = now;
        io.status(progressLine(p));
      }
    },
  });
  io.status('', true);
  const report = buildReport(run, run.contractValue);
  const out = resolve(values.out ?? join('backtests', run.plan.metadata.name));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'report.json'), reportJson(report));
  await writeFile(join(out, 'report.html'), renderHtml(report, await chartScript()));
  io.print(
    `== backtest ${run.partial ? '(PARTIAL: stopped before the end) ' : ''}${run.replayed} bars in ${run.wallSeconds.toFixed(1)} s (${(run.replayed / Math.max(run.wallSeconds, 1e-9)).toFixed(1)} bars/s)`,
  );
  io.print(summaryTable(report));
  if (run.given)
    io.print(
      run.given.kept
        ? `nats ${run.given.url}: the run's streams and buckets kept, named ${run.given.namePrefix}… (subjects ${run.given.subjectHead}…)`
        : `nats ${run.given.url}: run ${run.given.run}, its ${run.given.deleted.length} streams and buckets deleted`,
    );
  io.print(`report: ${join(out, 'report.json')}, ${join(out, 'report.html')}`);
  return run.partial ? 130 : 0;
}
