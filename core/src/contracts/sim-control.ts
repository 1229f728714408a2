import { z } from 'zod';
import type { WireError } from '../errors.js';

/**
 * The venue simulator's lockstep control (core NATS request/reply, `actorRequest` family): a
 * simulator started in lockstep never moves on its own; `kokex backtest` releases one bar at a time
 * with `kokex.ctl.okx-sim.step` and reads where it stands with `kokex.ctl.okx-sim.status`. Replies
 * are JSON in the control plane's shape: `{ok: true, ...}` or `{ok: false, error}`.
 *
 * - `step` `{bars}`: advances that many source bars (every intrabar step, its pushes and the
 *   matching of resting orders happen inside the call) and answers with the state after it.
 * - `status` `{}`: the state now, nothing moves.
 */
export const SimControlEndpoints = { step: 'step', status: 'status' } as const;
export type SimControlEndpoints = (typeof SimControlEndpoints)[keyof typeof SimControlEndpoints];

/** The actor kind whose lockstep endpoints `kokex backtest` drives (the OKX simulator). */
export const SIM_CONTROL_KIND = 'okx-sim';

export const simStepRequestSchema = z.object({ bars: z.number().int().min(1).max(10_000).default(1) }).strict();
export type SimStepRequest = z.input<typeof simStepRequestSchema>;

/** One order the simulator holds, as the harness compares it with the executor's events. */
export const simOrderStateSchema = z.object({
  clientOrderId: z.string(),
  instId: z.string(),
  /** OKX order state: `live`, `partially_filled`, `filled`, `canceled`. */
  state: z.string(),
  filledSize: z.number().nonnegative(),
});
export type SimOrderState = z.infer<typeof simOrderStateSchema>;

export const simControlStateSchema = z.object({
  ok: z.literal(true),
  /** Simulated now (ms): the market time of the cursor. */
  now: z.number(),
  /** True once the data has run out. */
  ended: z.boolean(),
  /** Source bars released since the replay started. */
  bars: z.number().int().nonnegative(),
  /** Steps the last request advanced (0 for `status`). */
  stepped: z.number().int().nonnegative(),
  /** Every order with a client order id, in placement order. */
  orders: z.array(simOrderStateSchema),
});
export type SimControlState = z.infer<typeof simControlStateSchema>;

export type SimControlReply = SimControlState | { ok: false; error: WireError };
