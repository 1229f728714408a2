import { type Plan, planToken, VENUE_MODES, venueToken } from '@kokex/core';
import { z } from 'zod';

/**
 * The executor's configuration: a route per active plan (where its approvals arrive and which
 * execution adapter places them) and host settings. Adapter settings never hold keys: adapters
 * read those from the environment.
 */
export const executorRouteSchema = z
  .object({
    plan: planToken,
    /** The approvals' venue token: `paper` for paper plans, else the plan's venue. */
    venue: venueToken,
    mode: z.enum(VENUE_MODES),
    instruments: z.array(z.string()).min(1),
    /** The execution adapter (`execution:{name}`) and the configuration this plan gives it. */
    adapter: z
      .object({
        name: venueToken,
        config: z.record(z.unknown()),
        /** The adapter reads the bus (the paper venue): the executor lends it its own connection when it creates it. */
        bus: z.boolean().default(false),
      })
      .strict(),
  })
  .strict();
export type ExecutorRoute = z.output<typeof executorRouteSchema>;

export const executorConfigSchema = z
  .object({
    routes: z.array(executorRouteSchema).default([]),
    /** Settings per execution adapter, merged under what the plan derives (`{okx: {simPort: 18080}}`). */
    adapters: z.record(z.record(z.unknown())).default({}),
    /** Approvals placed at once per venue. Default 16. */
    maxInFlight: z.number().int().positive().default(16),
    /** Server-side redelivery of an approval whose executor died placing it. Default 30,000 ms. */
    ackWaitMs: z.number().int().positive().default(30_000),
    /** Deliveries of an approval whose placement keeps failing with a retryable error before it is rejected. Default 5. */
    maxDeliver: z.number().int().min(1).default(5),
    /** Redelivery delays by attempt for retryable failures. Default [200, 1000, 5000, 15000] ms. */
    retryBackoffMs: z.array(z.number().int().nonnegative()).default([200, 1000, 5000, 15000]),
    /** A venue that could not be reached or reconciled is tried again after this long. Default 5,000 ms. */
    reconnectMs: z.number().int().positive().default(5000),
    /**
     * How often each ready venue session compares the venue with ORDERS again (open orders,
     * positions, balances; `kokex.order.reconcile.{plan}.{inst}`), beside the one at start and after
     * every resubscription. An infrastructure timer on the wall clock. Default 60,000 ms.
     */
    reconcileEveryMs: z.number().int().min(1000).default(60_000),
  })
  .strict();
export type ExecutorConfig = z.output<typeof executorConfigSchema>;

/** Paper plans trade on the paper venue, the rest on their exchange. */
function venueOf(plan: Plan): string {
  return plan.spec.venue.mode === 'paper' ? 'paper' : plan.spec.venue.name;
}

/**
 * The adapter a plan's orders go through. Paper plans get an account of their own (the plan's
 * name) with the plan's balance, fees and slippage, filled against the plan's candles on the bus
 * this executor uses; other plans get their venue's execution adapter in the plan's mode (which
 * `adapterFor` adds to the configuration).
 */
export function routeFrom(plan: Plan): ExecutorRoute {
  const { venue, risk, instrument, timeframe } = plan.spec;
  const instruments = risk.allowInstruments ?? [instrument];
  const adapter =
    venue.mode === 'paper'
      ? {
          name: 'paper',
          config: {
            account: plan.metadata.name,
            ...venue.paper,
            candles: { venue: venue.name, tf: timeframe },
          },
          bus: true,
        }
      : { name: venue.name, config: {}, bus: false };
  return { plan: plan.metadata.name, venue: venueOf(plan), mode: venue.mode, instruments, adapter };
}

export function executorConfigFromPlans(plans: readonly Plan[], base: ExecutorConfig): ExecutorConfig {
  return { ...base, routes: plans.map(routeFrom).sort((a, b) => a.plan.localeCompare(b.plan)) };
}
