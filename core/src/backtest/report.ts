import type { Forecast, SkillSummary } from '../contracts/forecast.js';
import { type BacktestFigures, type BacktestFill, backtestFigures, type RoundTrip, stable } from './figures.js';
import type { BacktestRun } from './run.js';

/**
 * `report.json`: everything a backtest found, as data. No wall times, no local paths, keys in a
 * fixed order and numbers rounded by `stable`, so two runs of the same plan, data and seed write
 * the same bytes. Schema: docs/backtest.md.
 */
export const REPORT_SCHEMA = 'kokex.backtest.report/v1';

/** The figures as the report stores them: the curve and the round trips have sections of their own. */
export type ReportFigures = Omit<BacktestFigures, 'equity' | 'roundTrips'>;

export interface ReliabilityBin {
  /** Lower edge of the P(up) bin (bins of 0.1). */
  from: number;
  count: number;
  meanPUp: number;
  /** Fraction of those forecasts whose horizon ended above the last close. */
  observedUp: number;
}

export interface BacktestReport {
  schema: string;
  plan: { name: string; file: string; sha256: string; instrument: string; timeframe: string; venue: string; mode: string; capital: number };
  window: { from: string; to: string; bars: number; replayed: number; partial: boolean };
  data: {
    tf: string;
    gapPolicy: string;
    files: Array<{ name: string; sha256: string; rows: number }>;
    gaps: Array<{ from: string; bars: number; at: string }>;
    historyFrom: string;
  };
  provenance: {
    seed: number;
    codeVersion: string;
    models: string[];
    executionProviders: string[];
    retrain: boolean;
    contractValue: number;
  };
  figures: ReportFigures;
  verdicts: { total: number; approved: number; denied: number; byReason: Record<string, number> };
  decisions: { conversations: number; withIntents: number; intents: number };
  forecasts: {
    count: number;
    tradeable: number;
    /** The inferencer's skill record as the last forecast of the run carried it (CRPS vs baselines, coverage, Brier). */
    skill: SkillSummary | null;
    reliability: ReliabilityBin[];
  };
  trades: Array<RoundTrip & { openedAtIso: string; closedAtIso: string }>;
  fills: Array<{ time: number; clientOrderId: string; side: string; size: number; price: number; fee: number }>;
  verdictList: Array<{ time: number; clientOrderId: string; side: string; decision: string; reason: string }>;
  /** Every decision the agent ended: market time, answer, intents. */
  decisionList: Array<{ time: number; answer: string; intents: string[] }>;
  series: {
    /** [ts, equity, drawdown, position] per bar. */
    equity: Array<[number, number, number, number]>;
    /** [ts, open, high, low, close] per bar. */
    bars: Array<[number, number, number, number, number]>;
    /** [asOf, pUp, first step's low band, median, high band, tradeable 0|1] per forecast. */
    forecasts: Array<[number, number, number, number, number, number]>;
    /** [asOf, scored, model CRPS, best baseline CRPS] per forecast (the skill record over time). */
    skill: Array<[number, number, number, number]>;
  };
}

const iso = (t: number) => new Date(t).toISOString();

function sortedRecord(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k) as number;
  return out;
}

/** The quantile row nearest to a level. */
function bandAt(f: Forecast, level: number): number[] | undefined {
  const { levels, close } = f.quantiles;
  let best = -1;
  for (let i = 0; i < levels.length; i++)
    if (best < 0 || Math.abs((levels[i] as number) - level) < Math.abs((levels[best] as number) - level)) best = i;
  return best < 0 ? undefined : close[best];
}

/** Deep copy with every number rounded and every object's keys sorted (the published record, made byte-stable). */
function stableValue(v: unknown): unknown {
  if (typeof v === 'number') return stable(v);
  if (Array.isArray(v)) return v.map(stableValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = stableValue((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function buildReport(run: BacktestRun, contractValue: number): BacktestReport {
  const { plan, collected, data } = run;
  const barMs = run.total > 0 ? (run.to - run.from) / run.total : 60_000;
  const capital = plan.spec.venue.paper.balance;
  const fills: BacktestFill[] = [];
  const fillRows: BacktestReport['fills'] = [];
  for (const e of collected.events) {
    if (!e.data.fill) continue;
    const fill = {
      time: e.data.venueTs,
      side: e.data.side,
      size: e.data.fill.size,
      price: e.data.fill.price,
      fee: Math.abs(e.data.fill.fee),
    };
    fills.push(fill);
    fillRows.push({
      ...fill,
      clientOrderId: e.data.clientOrderId ?? '',
      size: stable(fill.size),
      price: stable(fill.price),
      fee: stable(fill.fee),
    });
  }
  const bars = collected.candles.map((c) => ({ ts: c.ts, close: c.close }));
  const f = backtestFigures({ bars, fills, capital, contractValue, barMs });
  const { equity, roundTrips, ...scalars } = f;

  const byReason = new Map<string, number>();
  let approved = 0;
  for (const v of collected.verdicts) {
    byReason.set(v.data.reason, (byReason.get(v.data.reason) ?? 0) + 1);
    if (v.data.decision === 'approve') approved++;
  }

  // Reliability: each forecast's P(up) against what the bars did by its horizon (the plot's data;
  // the skill figures themselves are the inferencer's record, not recomputed here).
  const closeAt = new Map(collected.candles.map((c) => [c.ts, c.close]));
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, count: 0, sumP: 0, up: 0 }));
  for (const { data: fc } of collected.forecasts) {
    const endTs = fc.steps[fc.steps.length - 1];
    const end = endTs === undefined ? undefined : closeAt.get(endTs);
    if (end === undefined) continue;
    const bin = bins[Math.min(9, Math.floor(fc.pUp * 10))] as (typeof bins)[number];
    bin.count++;
    bin.sumP += fc.pUp;
    if (end > fc.lastClose) bin.up++;
  }
  const last = collected.forecasts[collected.forecasts.length - 1]?.data;
  const bestBaseline = (s: SkillSummary) => {
    const xs = Object.values(s.baselines)
      .map((b) => b.crps)
      .filter((x): x is number => typeof x === 'number');
    return xs.length ? Math.min(...xs) : 0;
  };
  const models = [...new Set(collected.forecasts.map((x) => `${x.data.model.name}@${x.data.model.version}`))].sort();
  const providers = [...new Set(collected.forecasts.map((x) => x.data.settings.executionProvider))].sort();

  return {
    schema: REPORT_SCHEMA,
    plan: {
      name: plan.metadata.name,
      file: run.planFile,
      sha256: run.planSha256,
      instrument: plan.spec.instrument,
      timeframe: plan.spec.timeframe,
      venue: plan.spec.venue.name,
      mode: plan.spec.venue.mode,
      capital,
    },
    window: { from: iso(run.from), to: iso(run.to), bars: run.total, replayed: run.replayed, partial: run.partial },
    data: {
      tf: data.tf,
      gapPolicy: data.gapPolicy,
      files: data.files.map((x) => ({ name: x.name, sha256: x.sha256, rows: x.rows })),
      gaps: data.gaps.map((g) => ({ from: iso(g.from), bars: g.bars, at: g.at })),
      historyFrom: iso(Math.max((data.bars[0] as { ts: number }).ts, run.from - (run.historyMs ?? 0))),
    },
    provenance: {
      seed: run.seed,
      codeVersion: run.codeVersion,
      models,
      executionProviders: providers,
      retrain: run.retrain,
      contractValue,
    },
    figures: scalars,
    verdicts: {
      total: collected.verdicts.length,
      approved,
      denied: collected.verdicts.length - approved,
      byReason: sortedRecord(byReason),
    },
    decisions: { ...collected.decisions, intents: collected.intents.length },
    forecasts: {
      count: collected.forecasts.length,
      tradeable: collected.forecasts.filter((x) => x.data.tradeable).length,
      skill: last ? (stableValue(last.skill) as SkillSummary) : null,
      reliability: bins.map((b) => ({
        from: b.from,
        count: b.count,
        meanPUp: stable(b.count ? b.sumP / b.count : 0),
        observedUp: stable(b.count ? b.up / b.count : 0),
      })),
    },
    trades: roundTrips.map((t) => ({ ...t, openedAtIso: iso(t.openedAt), closedAtIso: iso(t.closedAt) })),
    fills: fillRows,
    verdictList: collected.verdicts.map((v) => ({
      time: v.eventTime,
      clientOrderId: v.data.clientOrderId,
      side: v.data.side ?? '',
      decision: v.data.decision,
      reason: v.data.reason,
    })),
    decisionList: collected.decisionList.map((d) => ({ time: d.time, answer: d.answer, intents: d.intents })),
    series: {
      equity: equity.map((p) => [p.ts, p.equity, p.drawdown, p.position]),
      bars: collected.candles.map((c) => [c.ts, stable(c.open), stable(c.high), stable(c.low), stable(c.close)]),
      forecasts: collected.forecasts.map(({ data: fc }) => [
        fc.asOf,
        stable(fc.pUp),
        stable(bandAt(fc, 0.1)?.[0] ?? fc.lastClose),
        stable(fc.median.close[0] ?? fc.lastClose),
        stable(bandAt(fc, 0.9)?.[0] ?? fc.lastClose),
        fc.tradeable ? 1 : 0,
      ]),
      skill: collected.forecasts.map(({ data: fc }) => [
        fc.asOf,
        fc.skill.scored,
        stable(fc.skill.model.crps ?? 0),
        stable(bestBaseline(fc.skill)),
      ]),
    },
  };
}

/** The report's bytes: two-space JSON, keys in the order built above, a final newline. */
export function reportJson(report: BacktestReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
