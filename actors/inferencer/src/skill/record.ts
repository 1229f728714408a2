import type { PlanForecast, SkillBaseline, SkillMetric, SkillSummary } from '@kokex/core';
import type { MetricScores, ScoredForecast } from './scores.js';

/**
 * The rolling skill record of one model version on one instrument and timeframe: the last `window`
 * scored forecasts, and the summary every forecast carries. A forecast is tradeable only when the
 * gate is on, at least `minScored` forecasts are scored, and the model beats every configured
 * baseline on the gate's metric by the margin, averaged over the window.
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

export function summarize(record: SkillRecord, gate: SkillGate): SkillSummary {
  const entries = record.entries.slice(-gate.window);
  const scored = entries.length;
  const baselines: Record<string, Record<string, number>> = {};
  const model = scored ? averages(entries.map((e) => e.model)) : {};
  if (scored) for (const b of gate.baselines) baselines[b] = averages(entries.map((e) => e.baselines[b]));
  const coverage = scored
    ? { coverage80: entries.reduce((s, e) => s + e.cover80, 0) / scored, coverage90: entries.reduce((s, e) => s + e.cover90, 0) / scored }
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
  const higherIsBetter = gate.metric === 'hit-rate';
  const mine = model[gate.metric] as number;
  const losses: string[] = [];
  const wins: string[] = [];
  for (const b of gate.baselines as SkillBaseline[]) {
    const theirs = baselines[b]?.[gate.metric] as number;
    const beats = higherIsBetter ? mine > theirs * (1 + gate.margin) : mine < theirs * (1 - gate.margin);
    (beats ? wins : losses).push(`${b} ${fmt(theirs)}`);
  }
  const margin = gate.margin > 0 ? ` by ${gate.margin * 100}%` : '';
  if (losses.length) {
    return {
      ...base,
      tradeable: false,
      reason: `${gate.metric} ${fmt(mine)} does not beat ${losses.join(', ')}${margin} over the last ${scored} forecasts`,
    };
  }
  return {
    ...base,
    tradeable: true,
    reason: `${gate.metric} ${fmt(mine)} beats ${wins.join(', ')}${margin} over the last ${scored} forecasts`,
  };
}
