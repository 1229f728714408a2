import { z } from 'zod';
import { instrumentToken, timeframeToken, venueToken } from '../contracts/tokens.js';
import { parseDuration } from '../plan/schedule.js';
import type { Plan } from '../plan/schema.js';
import { TIMEFRAMES } from '../time/timeframe.js';
import type { MarketSeries, SeriesKey } from './types.js';

const DAY_MS = 86_400_000;
const TF_ORDER = new Map<string, number>(TIMEFRAMES.map((tf, i) => [tf, i]));

/** `okx:BTC-USDT:1m`: a series as one string, for maps and logs. */
export function seriesId(key: SeriesKey): string {
  return `${key.venue}:${key.inst}:${key.tf}`;
}

/**
 * The series the active plans need: each plan's instrument at its own timeframe and at every
 * context timeframe (the higher-timeframe view an agent reads beside its own bars). The feed and
 * the validator both derive their work from this, so they always agree on the set.
 *
 * A subject names no venue mode, so two plans that put one instrument on one venue in different
 * modes would write into the same series: the plan first by name decides, and the series stays one.
 */
export function seriesFromPlans(plans: readonly Plan[], contextTimeframes: readonly string[] = []): MarketSeries[] {
  const byKey = new Map<string, MarketSeries>();
  for (const plan of [...plans].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const { venue, instrument, timeframe, data } = plan.spec;
    const windowMs = parseDuration(data.window) ?? 30 * DAY_MS;
    const scanEveryMs = parseDuration(data.scanEvery) ?? DAY_MS / 4;
    for (const tf of new Set([timeframe, ...contextTimeframes])) {
      const key = seriesId({ venue: venue.name, inst: instrument, tf });
      const seen = byKey.get(key);
      if (seen) {
        seen.windowMs = Math.max(seen.windowMs, windowMs);
        seen.scanEveryMs = Math.min(seen.scanEveryMs, scanEveryMs);
      } else {
        byKey.set(key, { venue: venue.name, mode: venue.mode, inst: instrument, tf, windowMs, scanEveryMs });
      }
    }
  }
  return [...byKey.values()].sort(
    (a, b) => a.venue.localeCompare(b.venue) || a.inst.localeCompare(b.inst) || (TF_ORDER.get(a.tf) ?? 0) - (TF_ORDER.get(b.tf) ?? 0),
  );
}

/** A `MarketSeries` as configuration carries it. */
export const marketSeriesSchema = z
  .object({
    venue: venueToken,
    mode: z.string().min(1),
    inst: instrumentToken,
    tf: timeframeToken,
    windowMs: z.number().int().positive(),
    scanEveryMs: z.number().int().positive(),
  })
  .strict();

/**
 * Configuration fields of every actor that works on the plans' series (the feed, the validator):
 * spread them into the actor's own schema so both read the same set the same way.
 */
export const planSeriesConfigFields = {
  /** What to work on; derived from the plans. */
  series: z.array(marketSeriesSchema).default([]),
  /** Timeframes added for every plan instrument besides the plan's own. Default ['1H']. */
  contextTimeframes: z.array(timeframeToken).default(['1H']),
  /**
   * Exchange adapter settings per venue, merged under the plan's mode (`{okx: {simPort: 18080}}`)
   * by core's `adapterFor`. Never credentials: adapters read those from the environment.
   */
  adapters: z.record(z.record(z.unknown())).default({}),
  /** First wait before a failed venue call is tried again (doubles, up to 16×). Default 2,000 ms. */
  retryMs: z.number().int().positive().default(2000),
};

/** `configFromPlans` for such actors: the base configuration with `series` derived from the plans. */
export function withPlanSeries<C extends { series: MarketSeries[]; contextTimeframes: string[] }>(plans: readonly Plan[], base: C): C {
  return { ...base, series: seriesFromPlans(plans, base.contextTimeframes) };
}
