import type { PlanForecast, SkillBaseline, SkillMetric, SkillSummary } from '@kokex/core';
import type { MetricScores, ScoredForecast } from './scores.js';
import { type DieboldMariano, dieboldMariano } from './significance.js';

/**
 * The rolling skill record of one model version on one instrument and timeframe: the last `window`
 * scored forecasts, and the summary every forecast carries. A forecast is tradeable only when the
 * gate is on, at least `minScored` forecasts are scored, and against every configured baseline the
 * model's mean score on the gate's metric beats the baseline's by the margin *significantly*: a
 * one-sided Diebold–Mariano test with a Newey–West variance over the overlap of the forecasts
 * (significance.ts) rejects "not better by the margin" at the gate's significance. With several
 * baselines the gate's p-value is the largest (an intersection–union test: each must be beaten).
 */
export interface SkillRecordKey {
  model: string;
  version: string;
  inst: string;
  tf: string;
}

export interface SkillRecord {
  key: SkillRecordKey;
  window: number;
  entries: ScoredForecast[];
  updatedAt: number;
}

type SkillGate = PlanForecast['skillGate'];

/** Field of MetricScores behind each plan metric name; hit-rate is the one where higher is better. */
const METRIC_FIELD: Record<SkillMetric, keyof MetricScores> = { crps: 'crps', brier: 'brier', mae: 'mae', 'hit-rate': 'hit' };

export function emptyRecord(key: SkillRecordKey, window: number): SkillRecord {
  return { key, window, entries: [], updatedAt: 0 };
}

/** Adds scored forecasts (one per asOf; a re-scored one replaces the old), oldest first, keeping the last `window`. */
export function withScored(record: SkillRecord, scored: readonly ScoredForecast[], window: number, now: number): SkillRecord {
  const byAsOf = new Map(record.entries.map((e) => [e.asOf, e]));
  for (const s of scored) byAsOf.set(s.asOf, s);
  const entries = [...byAsOf.values()].sort((a, b) => a.asOf - b.asOf).slice(-window);
  return { ...record, window, entries, updatedAt: now };
}

function averages(rows: readonly MetricScores[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const metric of Object.keys(METRIC_FIELD) as SkillMetric[]) {
    const field = METRIC_FIELD[metric];
    out[metric] = rows.reduce((s, r) => s + r[field], 0) / rows.length;
  }
  return out;
}

const fmt = (v: number | undefined) => (v === undefined ? '?' : Number(v.toPrecision(4)).toString());
const pct = (v: number) => `${Number((v * 100).toPrecision(3))}%`;
const fmtP = (p: number) => (p < 0.001 ? '< 0.001' : Number(p.toPrecision(2)).toString());

/** Mean of an optional per-entry value over the entries that have it. */
function meanOf(entries: readonly ScoredForecast[], pick: (e: ScoredForecast) => number | undefined): number | undefined {
  const values = entries.map(pick).filter((v): v is number => v !== undefined);
  return values.length ? values.reduce((a, v) => a + v, 0) / values.length : undefined;
}

/**
 * Loss differentials against one baseline with the margin folded in, negative where the model
 * wins: model − (1 − margin)·baseline for a score where lower is better, (1 + margin)·baseline −
 * model for the hit rate.
 */
function differentials(entries: readonly ScoredForecast[], baseline: SkillBaseline, metric: SkillMetric, margin: number): number[] {
  const field = METRIC_FIELD[metric];
  return entries.map((e) =>
    metric === 'hit-rate'
      ? (1 + margin) * e.baselines[baseline][field] - e.model[field]
      : e.model[field] - (1 - margin) * e.baselines[baseline][field],
  );
}

/**
 * The summary every forecast carries. `lag` is the overlap of consecutive scored forecasts in
 * forecasts (`overlapLag(horizon, every)`); 0 treats them as independent.
 */
export function summarize(record: SkillRecord, gate: SkillGate, lag = 0): SkillSummary {
  const entries = record.entries.slice(-gate.window);
  const scored = entries.length;
  const baselines: Record<string, Record<string, number>> = {};
  const model = scored ? averages(entries.map((e) => e.model)) : {};
  if (scored) for (const b of gate.baselines) baselines[b] = averages(entries.map((e) => e.baselines[b]));
  const optional = (key: string, v: number | undefined) => (v === undefined ? {} : { [key]: v });
  const coverage = scored
    ? {
        coverage80: entries.reduce((s, e) => s + e.cover80, 0) / scored,
        coverage90: entries.reduce((s, e) => s + e.cover90, 0) / scored,
        ...optional(
          'expectedCoverage80',
          meanOf(entries, (e) => e.expected80),
        ),
        ...optional(
          'expectedCoverage90',
          meanOf(entries, (e) => e.expected90),
        ),
      }
    : {};
  const base = { scored, window: gate.window, model, baselines, ...coverage };
  if (!gate.enabled)
    return { ...base, tradeable: true, reason: 'skill gate disabled in the plan (experiments only): not a judgement of the model' };
  const against = gate.baselines.join(' and ');
  if (scored < gate.minScored) {
    return {
      ...base,
      tradeable: false,
      reason: `${scored} of ${gate.minScored} forecasts scored; not tradeable until the model beats ${against} on ${gate.metric} over them`,
    };
  }
  const mine = model[gate.metric] as number;
  const tests = new Map<SkillBaseline, DieboldMariano>();
  for (const b of gate.baselines as SkillBaseline[]) tests.set(b, dieboldMariano(differentials(entries, b, gate.metric, gate.margin), lag));
  // The binding test: the baseline the model is least clearly better than.
  const [worstBaseline, worst] = [...tests.entries()].reduce((a, b) => (b[1].pValue > a[1].pValue ? b : a));
  const test = {
    method: 'diebold-mariano' as const,
    lag,
    effectiveSamples: Number(worst.effectiveSamples.toPrecision(4)),
    pValue: worst.pValue,
    significance: gate.significance,
    margin: gate.margin,
    baselines: Object.fromEntries(
      [...tests.entries()].map(([b, t]) => [b, { ratio: mine / (baselines[b]?.[gate.metric] as number), pValue: t.pValue }]),
    ),
  };
  const one = (b: SkillBaseline) => {
    const t = tests.get(b) as DieboldMariano;
    const theirs = baselines[b]?.[gate.metric] as number;
    return `${b} ${fmt(theirs)} (ratio ${fmt(mine / theirs)}, p ${fmtP(t.pValue)})`;
  };
  const needs = `by ${pct(gate.margin)} at ${pct(gate.significance)} significance`;
  const evidence = `over the last ${scored} forecasts, worth ${fmt(worst.effectiveSamples)} independent ones (overlap lag ${lag}, Diebold–Mariano with a HAC variance)`;
  const losses = [...tests.entries()].filter(([, t]) => !(t.pValue < gate.significance)).map(([b]) => b);
  if (losses.length) {
    return {
      ...base,
      test,
      tradeable: false,
      reason: `${gate.metric} ${fmt(mine)} does not beat ${losses.map(one).join(', ')} ${needs} ${evidence}`,
    };
  }
  return {
    ...base,
    test,
    tradeable: true,
    reason: `${gate.metric} ${fmt(mine)} beats ${[...tests.keys()].map(one).join(' and ')} ${needs} ${evidence}; binding: ${worstBaseline}`,
  };
}
