import type { PlanForecast, SkillMetric, SkillSummary } from '@kokex/core';
import { table } from '../format.js';
import { type SkillRecord, summarize } from './record.js';
import type { MetricScores, ScoredForecast } from './scores.js';
import { longRunVariance, overlapLag } from './significance.js';

/**
 * The skill report of `kokex skill <plan>`: the live record of the serving model version, read
 * as evidence. Per metric the mean of the model and of each baseline with a 95% confidence
 * interval whose standard error is the HAC one the gate uses (so overlapping forecasts do not
 * narrow it); the reliability of the published P(up) in ten bins; the coverage of the published
 * 80% and 90% bands at each horizon step against what they were expected to hold; and the gate's
 * summary with its reasoning. Pure: the command reads the record and prints this.
 */
export interface Interval {
  mean: number;
  low: number;
  high: number;
}

export interface ReliabilityBin {
  /** The bin [from, to) of the published P(up) (the last bin includes 1). */
  from: number;
  to: number;
  count: number;
  /** Mean published P(up) in the bin, and the share that rose with its 95% Wilson interval. */
  stated: number;
  observed: Interval;
}

export interface StepCoverage {
  step: number;
  /** Forecasts whose per-step outcomes were kept. */
  count: number;
  coverage80: number;
  coverage90: number;
}

export interface SkillReport {
  model: string;
  version: string;
  inst: string;
  tf: string;
  scored: number;
  lag: number;
  metrics: Array<{ metric: SkillMetric; model: Interval; baselines: Record<string, Interval> }>;
  reliability: ReliabilityBin[];
  steps: StepCoverage[];
  expectedCoverage80: number | undefined;
  expectedCoverage90: number | undefined;
  summary: SkillSummary;
}

const METRIC_FIELD: Record<SkillMetric, keyof MetricScores> = { crps: 'crps', brier: 'brier', mae: 'mae', 'hit-rate': 'hit' };
const Z95 = 1.959963984540054;

/** Mean with a 95% interval from the HAC standard error over `lag` lags. */
export function meanInterval(values: readonly number[], lag: number): Interval {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const se = n > 1 ? Math.sqrt(longRunVariance(values, lag) / n) : Number.NaN;
  return { mean, low: mean - Z95 * se, high: mean + Z95 * se };
}

/** Wilson score interval (95%) of k successes in n. */
export function wilson(k: number, n: number): Interval {
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const p = k / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { mean: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export function reliability(entries: readonly ScoredForecast[], bins = 10): ReliabilityBin[] {
  return Array.from({ length: bins }, (_, b) => {
    const from = b / bins;
    const to = (b + 1) / bins;
    const inBin = entries.filter((e) => e.pUp >= from && (e.pUp < to || (b === bins - 1 && e.pUp <= 1)));
    const rose = inBin.filter((e) => e.up === 1).length;
    const stated = inBin.length ? inBin.reduce((s, e) => s + e.pUp, 0) / inBin.length : Number.NaN;
    return { from, to, count: inBin.length, stated, observed: wilson(rose, inBin.length) };
  }).filter((bin) => bin.count > 0);
}

export function stepCoverage(entries: readonly ScoredForecast[], horizon: number): StepCoverage[] {
  const kept = entries.filter((e) => e.bandSteps?.length === horizon);
  return Array.from({ length: horizon }, (_, h) => {
    const marks = kept.map((e) => (e.bandSteps as string)[h]);
    const n = marks.length;
    return {
      step: h + 1,
      count: n,
      coverage80: n ? marks.filter((m) => m === '2').length / n : Number.NaN,
      coverage90: n ? marks.filter((m) => m === '2' || m === '1').length / n : Number.NaN,
    };
  });
}

export function skillReport(record: SkillRecord, forecast: Pick<PlanForecast, 'skillGate' | 'horizon' | 'every'>): SkillReport {
  const gate = forecast.skillGate;
  const entries = record.entries.slice(-gate.window);
  const lag = overlapLag(forecast.horizon, forecast.every);
  const metrics = (Object.keys(METRIC_FIELD) as SkillMetric[]).map((metric) => {
    const field = METRIC_FIELD[metric];
    const baselines = Object.fromEntries(
      gate.baselines.map((b) => [
        b,
        meanInterval(
          entries.map((e) => e.baselines[b][field]),
          lag,
        ),
      ]),
    );
    return {
      metric,
      model: meanInterval(
        entries.map((e) => e.model[field]),
        lag,
      ),
      baselines,
    };
  });
  const summary = summarize(record, gate, lag);
  return {
    ...record.key,
    scored: entries.length,
    lag,
    metrics,
    reliability: reliability(entries),
    steps: stepCoverage(entries, forecast.horizon),
    expectedCoverage80: summary.expectedCoverage80,
    expectedCoverage90: summary.expectedCoverage90,
    summary,
  };
}

const num = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : '-');
const pc = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${(v * 100).toFixed(1)}%`);
const interval = (i: Interval) => `${num(i.mean)} [${num(i.low)}, ${num(i.high)}]`;

/** The report as text: the tables `kokex skill` prints. */
export function formatSkillReport(r: SkillReport, plan: string): string {
  const s = r.summary;
  const lines = [
    `${r.inst} ${r.tf} · plan ${plan} · model ${r.model} ${r.version.slice(0, 12)} · ${r.scored} forecasts scored of a ${s.window}-forecast window · overlap lag ${r.lag}`,
    `tradeable: ${s.tradeable ? 'YES' : 'NO'}: ${s.reason}`,
  ];
  if (s.test) {
    const per = Object.entries(s.test.baselines)
      .map(([b, t]) => `${b} ratio ${num(t.ratio)} p ${num(t.pValue)}`)
      .join(' · ');
    lines.push(
      `gate: Diebold–Mariano, margin ${pc(s.test.margin)}, significance ${pc(s.test.significance)}, p ${num(s.test.pValue)}, effective sample ${num(s.test.effectiveSamples)} · ${per}`,
    );
  }
  if (r.scored === 0) return [...lines, '', 'no forecast of this version has been scored yet'].join('\n');
  const baselines = Object.keys(r.metrics[0]?.baselines ?? {});
  lines.push(
    '',
    'scores, mean [95% interval, HAC standard error] (log-return units; lower is better except hit-rate)',
    table(
      ['METRIC', 'MODEL', ...baselines.map((b) => b.toUpperCase())],
      r.metrics.map((m) => [m.metric, interval(m.model), ...baselines.map((b) => interval(m.baselines[b] as Interval))]),
    ),
    '',
    'reliability of the published P(up)',
    table(
      ['P(UP) BIN', 'FORECASTS', 'STATED', 'ROSE', '95% INTERVAL'],
      r.reliability.map((b) => [
        `${b.from.toFixed(1)}-${b.to.toFixed(1)}`,
        b.count,
        pc(b.stated),
        pc(b.observed.mean),
        `${pc(b.observed.low)}-${pc(b.observed.high)}`,
      ]),
    ),
    '',
    `band coverage per step (expected: 80% band ${pc(r.expectedCoverage80)}, 90% band ${pc(r.expectedCoverage90)}; overall ${pc(s.coverage80)} and ${pc(s.coverage90)})`,
    table(
      ['STEP', 'FORECASTS', '80% BAND', '90% BAND'],
      r.steps.map((st) => [st.step, st.count, pc(st.coverage80), pc(st.coverage90)]),
    ),
  );
  return lines.join('\n');
}
