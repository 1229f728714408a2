import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  instrumentToken,
  intentTtlMs,
  type Plan,
  type PlanForecast,
  parseDuration,
  planSchema,
  timeframeMs,
  timeframeToken,
  VENUE_MODES,
  venueToken,
} from '@kokex/core';
import { z } from 'zod';

/**
 * The inferencer's configuration: one series per (instrument, timeframe) of the active plans, with
 * the plan's forecast settings and model, plus settings of its own. A second plan on the same
 * instrument and timeframe shares the first one's series (the forecast subject has no plan token),
 * so plans are taken in name order and the first wins.
 */
const planForecastSchema = planSchema.shape.spec.innerType().shape.forecast;

/** `models/kronos/shipped` of this checkout. */
export const SHIPPED_MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models/kronos/shipped');

export const seriesSchema = z
  .object({
    plan: z.string().min(1),
    venue: venueToken,
    /** The plan's venue mode: which market clock the series runs on (`sim` replays: the data's time). */
    mode: z.enum(VENUE_MODES).default('live'),
    inst: instrumentToken,
    tf: timeframeToken,
    model: z.object({ name: z.string().min(1), maxAgeMs: z.number().int().positive() }).strict(),
    forecast: planForecastSchema,
    /**
     * The plan's intent lifetime in bars (`risk.intentTtl`, default two): in a replay the inferencer
     * forecasts every bar of a backlog up to this many bars behind the newest, and none further
     * back, whose decisions the guard would deny INTENT_EXPIRED (the history filled in at start).
     */
    decisionBars: z.number().int().positive().default(2),
  })
  .strict();
export type ForecastSeries = z.output<typeof seriesSchema>;

export const inferencerConfigSchema = z
  .object({
    series: z.array(seriesSchema).default([]),
    /** Registered when the registry has no servable model for a series. Default: models/kronos/shipped. */
    shippedModelDir: z.string().min(1).default(SHIPPED_MODEL_DIR),
    /** How long a forecast request waits for others to share its ONNX Runtime batch. Default: 2 ms. */
    batchWindowMs: z.number().int().nonnegative().default(2),
    /** Threads per ONNX Runtime operator. Default: the runtime's choice (physical cores). */
    intraOpThreads: z.number().int().positive().optional(),
    /**
     * Where ONNX Runtime runs: `worker` (default), a thread of the inferencer's own
     * (node:worker_threads), so a forecast never holds the host's event loop and the actors beside
     * the inferencer in one host (`kokex up`) keep answering; `inline`, on the host's event loop
     * (debugging with breakpoints in the runtime, and the bench's comparison).
     */
    thread: z.enum(['worker', 'inline']).default('worker'),
    /**
     * The inference thread's nice value (Linux, 0–19). Default 10: on a machine the host shares
     * with inference (`kokex up` on two cores), the host's event loop (the guard's verdicts) runs
     * before ONNX Runtime's threads; on idle cores it changes nothing. 0 keeps the process's.
     */
    threadNice: z.number().int().min(0).max(19).default(10),
    /** Fewest closed candles a series needs before its first forecast (capped at its lookback). Default: 32. */
    minHistory: z.number().int().min(2).default(32),
  })
  .strict();
export type InferencerConfig = z.output<typeof inferencerConfigSchema>;

export function seriesKey(inst: string, tf: string): string {
  return `${inst}.${tf}`;
}

export function seriesFromPlan(plan: Plan): ForecastSeries {
  const maxAge = plan.spec.model.maxAge;
  return {
    plan: plan.metadata.name,
    venue: plan.spec.venue.name,
    mode: plan.spec.venue.mode,
    inst: plan.spec.instrument,
    tf: plan.spec.timeframe,
    model: { name: plan.spec.model.name, maxAgeMs: parseDuration(maxAge) ?? 7 * 24 * 3_600_000 },
    forecast: plan.spec.forecast as PlanForecast,
    decisionBars: Math.max(1, Math.floor(intentTtlMs(plan.spec.risk, plan.spec.timeframe) / timeframeMs(plan.spec.timeframe))),
  };
}

export function inferencerConfigFromPlans(plans: readonly Plan[], base: InferencerConfig): InferencerConfig {
  const series = new Map<string, ForecastSeries>();
  for (const plan of [...plans].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const key = seriesKey(plan.spec.instrument, plan.spec.timeframe);
    if (!series.has(key)) series.set(key, seriesFromPlan(plan));
  }
  return { ...base, series: [...series.values()] };
}
