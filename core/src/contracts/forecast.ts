import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, timeframeToken, venueToken } from './tokens.js';

/**
 * A Kronos forecast with the skill record that says how far to trust it:
 * `kokex.forecast.{inst}.{tf}`. Per-step arrays have `horizon` entries; quantile arrays have one
 * row per level in `quantiles.levels`.
 */
const bands = z.object({
  close: z.array(z.array(z.number())),
  high: z.array(z.array(z.number())),
  low: z.array(z.array(z.number())),
});

export const skillSummarySchema = z.object({
  /** Forecasts scored so far in the window. */
  scored: z.number().int().nonnegative(),
  window: z.number().int().positive(),
  /** Model scores and the baselines' over the window (lower is better except hitRate). */
  model: z.record(z.number()),
  baselines: z.record(z.record(z.number())),
  coverage80: z.number().min(0).max(1).optional(),
  coverage90: z.number().min(0).max(1).optional(),
  /** What the 80% and 90% bands were expected to hold over the same forecasts (nominal when conformal, less with few paths). */
  expectedCoverage80: z.number().min(0).max(1).optional(),
  expectedCoverage90: z.number().min(0).max(1).optional(),
  /**
   * The significance test behind `tradeable` (absent before minScored forecasts are scored): the
   * largest one-sided Diebold–Mariano p-value over the baselines (HAC variance over `lag`
   * overlapping forecasts), the independent forecasts the window is worth, and per baseline the
   * ratio of the model's mean score to the baseline's and its p-value.
   */
  test: z
    .object({
      method: z.literal('diebold-mariano'),
      lag: z.number().int().nonnegative(),
      effectiveSamples: z.number().nonnegative(),
      pValue: z.number().min(0).max(1),
      significance: z.number().gt(0).lt(1),
      margin: z.number().min(0).lt(1),
      baselines: z.record(z.object({ ratio: z.number(), pValue: z.number().min(0).max(1) })),
    })
    .optional(),
  /** True only once the model beats every baseline by the margin, significantly, over the window. */
  tradeable: z.boolean(),
  reason: z.string(),
});
export type SkillSummary = z.infer<typeof skillSummarySchema>;

export const forecastSchema = z.object({
  venue: venueToken,
  inst: instrumentToken,
  tf: timeframeToken,
  /** Open time of the last closed bar the forecast saw. */
  asOf: z.number().int(),
  lastClose: z.number().positive(),
  horizon: z.number().int().positive(),
  /** Open times of the forecast bars. */
  steps: z.array(z.number().int()),
  mean: z.object({ close: z.array(z.number()), high: z.array(z.number()), low: z.array(z.number()) }),
  median: z.object({ close: z.array(z.number()) }),
  quantiles: z.object({ levels: z.array(z.number().gt(0).lt(1)) }).merge(bands),
  /** P(final close > last close), calibrated when the plan says so. */
  pUp: z.number().min(0).max(1),
  pUpRaw: z.number().min(0).max(1),
  /** P(volatility over the horizon exceeds that of the lookback), calibrated like pUp when the plan says so. */
  pVolExpand: z.number().min(0).max(1),
  pVolExpandRaw: z.number().min(0).max(1).optional(),
  /** Expected worst move against a long and a short across paths (fractions of last close). */
  expectedMaxAdverse: z.object({ long: z.number(), short: z.number() }),
  model: z.object({ name: z.string(), version: z.string() }),
  settings: z.object({
    paths: z.number().int().positive(),
    lookback: z.number().int().positive(),
    temperature: z.number().positive(),
    topK: z.number().int().nonnegative(),
    topP: z.number().gt(0).max(1),
    seed: z.number().int(),
    executionProvider: z.string(),
  }),
  computeMs: z.number().nonnegative(),
  skill: skillSummarySchema,
  tradeable: z.boolean(),
});
export type Forecast = z.infer<typeof forecastSchema>;
export const ForecastContract = defineContract({ type: 'forecast', version: 1, schema: forecastSchema });
