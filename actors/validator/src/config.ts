import { planSeriesConfigFields, withPlanSeries } from '@kokex/core';
import { z } from 'zod';

/**
 * The validator's configuration. `series` comes from the active plans, derived as the feed's, so
 * both work on one set; candles of other series are still checked, but only plan series are
 * backfilled and scanned, since only a plan says which venue mode to ask.
 */
export const validatorConfigSchema = z
  .object({
    ...planSeriesConfigFields,
    /** Durable consumer on MD_RAW (the raw bars) shared by every replica. Default `validator`. */
    durable: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('validator'),
    /** How long a gap may stay open before the venue is asked (late and reordered bars fill most). Default 1,500 ms. */
    gapGraceMs: z.number().int().nonnegative().default(1500),
    /** First scan of a plan series after start or after the plan arrives (later ones every `data.scanEvery`). Default 5,000 ms. */
    firstScanMs: z.number().int().nonnegative().default(5000),
    /**
     * Slack for a bar's close ahead of now (clocks differ a little; `future.ts`): beyond the wall
     * clock plus this a bar is refused, and in a replay a stored bar beyond the market clock plus one
     * bar plus this is not booked. Default 5,000 ms (as the risk guard's).
     */
    futureToleranceMs: z.number().int().nonnegative().max(3_600_000).default(5000),
    /** Candles handled at once. Default 256. */
    maxInFlight: z.number().int().positive().default(256),
    /** Window kept in memory for a series no plan names. Default 2 days. */
    defaultWindowMs: z
      .number()
      .int()
      .positive()
      .default(2 * 86_400_000),
  })
  .strict();
export type ValidatorConfig = z.output<typeof validatorConfigSchema>;
export type ValidatedSeries = ValidatorConfig['series'][number];

export const validatorConfigFromPlans = withPlanSeries<ValidatorConfig>;
