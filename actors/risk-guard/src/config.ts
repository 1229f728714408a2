import {
  instrumentToken,
  ORDERS_MAX_MSGS,
  type Plan,
  type PlanRisk,
  planToken,
  timeframeToken,
  VENUE_MODES,
  venueToken,
} from '@kokex/core';
import { z } from 'zod';

/**
 * The guard's configuration: the plans it guards (derived from the active plans) and host
 * settings. Instrument metadata comes from the plan's exchange adapter unless `instruments`
 * gives it (offline set-ups, venues without an instruments endpoint).
 */
const instrumentSpecSchema = z
  .object({
    tickSize: z.number().positive(),
    lotSize: z.number().positive(),
    minSize: z.number().positive(),
    /** The venue's smallest order notional in the quote currency; absent: none. */
    minNotional: z.number().positive().optional(),
    /** Base units per contract (derivatives); 1 for spot. Default 1. */
    contractValue: z.number().positive().default(1),
  })
  .strict();
export type InstrumentSpec = z.output<typeof instrumentSpecSchema>;

export const guardPlanSchema = z
  .object({
    plan: planToken,
    venue: venueToken,
    mode: z.enum(VENUE_MODES),
    /** Where approvals go: `paper` for paper plans (the paper venue fills them), else the venue. */
    executionVenue: venueToken,
    inst: instrumentToken,
    tf: timeframeToken,
    /** risk.allowInstruments, else the plan's instrument. */
    instruments: z.array(instrumentToken).min(1),
    risk: z.custom<PlanRisk>((v) => typeof v === 'object' && v !== null, 'a plan risk section'),
    /** Equity the drawdown is measured from: venue.paper.balance. */
    capital: z.number().positive(),
  })
  .strict();
export type GuardPlan = z.output<typeof guardPlanSchema>;

export const guardConfigSchema = z
  .object({
    plans: z.array(guardPlanSchema).default([]),
    /** Exchange adapter settings per venue, merged under the plan's mode (`{okx: {simPort: 18080}}`). Never keys. */
    adapters: z.record(z.record(z.unknown())).default({}),
    /** Instrument metadata that wins over the venue's, by instrument id. */
    instruments: z.record(instrumentSpecSchema).default({}),
    /** How often the guard reads the ORDERS stream for fills when no message rang the bell. Default 2,000 ms. */
    pollMs: z.number().int().positive().default(2000),
    /** How long a failed instrument lookup is remembered before the venue is asked again. Default 5,000 ms. */
    instrumentRetryMs: z.number().int().nonnegative().default(5000),
    /** Server-side redelivery of an intent whose guard died deciding it. Default 30,000 ms. */
    ackWaitMs: z.number().int().positive().default(30_000),
    /**
     * How far ahead of the market clock, beyond one bar, a candle, forecast or intent may say it
     * is (clocks differ a little). Further ahead: a candle or forecast is not believed, an intent
     * is denied `FUTURE_TIME`. Default 5,000 ms.
     */
    futureToleranceMs: z.number().int().nonnegative().max(3_600_000).default(5000),
    /**
     * Largest move of a close against the instrument's last accepted close, as a fraction, that is
     * believed at once; a larger one waits for the next candle to confirm it. Default 0.2 (20 %).
     */
    maxPriceMove: z.number().gt(0).max(10).default(0.2),
    /**
     * How long (wall time) a reduce-only intent waits for the venue's report on the plan's market
     * orders still in flight on its instrument before it is judged: the agent may already see at
     * the venue the fill the guard's books have not read yet, and a close judged on the older book
     * would be denied `REDUCE_ONLY_WOULD_INCREASE`. Resting limit orders are not waited for. 0: no
     * wait. Default 2,000 ms.
     */
    reduceOnlyWaitMs: z.number().int().nonnegative().max(60_000).default(2000),
    /** A books snapshot (`kokex-books`) every this many ORDERS messages read. Default 10,000. */
    snapshotEveryMessages: z
      .number()
      .int()
      .positive()
      .max(ORDERS_MAX_MSGS / 10)
      .default(10_000),
    /** …and this often (wall time) when anything was read since the last. Default 60,000 ms. */
    snapshotEveryMs: z.number().int().positive().default(60_000),
  })
  .strict();
export type GuardConfig = z.output<typeof guardConfigSchema>;

/** Where a plan's approvals go: paper plans to the paper venue, the rest to their exchange. */
export function executionVenueOf(plan: Plan): string {
  return plan.spec.venue.mode === 'paper' ? 'paper' : plan.spec.venue.name;
}

export function guardPlanFrom(plan: Plan): GuardPlan {
  const { venue, risk } = plan.spec;
  return {
    plan: plan.metadata.name,
    venue: venue.name,
    mode: venue.mode,
    executionVenue: executionVenueOf(plan),
    inst: plan.spec.instrument,
    tf: plan.spec.timeframe,
    instruments: risk.allowInstruments ?? [plan.spec.instrument],
    risk,
    capital: venue.paper.balance,
  };
}

export function guardConfigFromPlans(plans: readonly Plan[], base: GuardConfig): GuardConfig {
  return { ...base, plans: plans.map(guardPlanFrom).sort((a, b) => a.plan.localeCompare(b.plan)) };
}
