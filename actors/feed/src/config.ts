import { planSeriesConfigFields, withPlanSeries } from '@kokex/core';
import { z } from 'zod';

/**
 * The feed's configuration: the plan series (derived from the active plans: each plan's
 * instrument at its timeframe and at every context timeframe), adapter settings, and its own
 * timing.
 */
export const feedConfigSchema = z
  .object({
    ...planSeriesConfigFields,
    /** How long a catch-up with nothing stored waits for the venue's first push to learn its current bar. Default 5,000 ms. */
    firstPushWaitMs: z.number().int().nonnegative().default(5000),
  })
  .strict();
export type FeedConfig = z.output<typeof feedConfigSchema>;
export type FeedSeries = FeedConfig['series'][number];

export const feedConfigFromPlans = withPlanSeries<FeedConfig>;
