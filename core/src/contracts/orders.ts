import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, planToken, venueToken } from './tokens.js';

/**
 * The order path: intent (anyone) → verdict (risk guard) → approved order (risk guard only) →
 * order events (executor, from the venue). The client order id is the idempotency key from the
 * intent to the fill; envelopes carry the correlation id back to the forecast or conversation.
 */
export const ORDER_SIDES = ['buy', 'sell'] as const;
export const ORDER_TYPES = ['market', 'limit'] as const;
export const INTENT_ORIGINS = ['agent', 'rule', 'manual', 'scheduler'] as const;

/** OKX allows 1–32 letters and digits in clOrdId; we keep to that so it passes through unchanged. */
export const clientOrderId = z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'client order id: 1-32 letters and digits');

export const orderIntentSchema = z.object({
  plan: planToken,
  venue: venueToken,
  inst: instrumentToken,
  side: z.enum(ORDER_SIDES),
  /** Size in the venue's order unit (base currency for spot, contracts for swaps). */
  size: z.number().positive(),
  type: z.enum(ORDER_TYPES),
  /** Limit price; absent for market orders. */
  price: z.number().positive().optional(),
  reduceOnly: z.boolean().default(false),
  clientOrderId,
  origin: z.object({
    kind: z.enum(INTENT_ORIGINS),
    /** Who: the agent conversation, the rule name, the user. */
    who: z.string(),
    /** Why, in words, for the audit trail. */
    why: z.string(),
  }),
  /** Ids of what led here (forecast message id, conversation id…), beside the envelope's correlation id. */
  refs: z.record(z.string()).default({}),
});
export type OrderIntent = z.infer<typeof orderIntentSchema>;
export const OrderIntentContract = defineContract({ type: 'order.intent', version: 1, schema: orderIntentSchema });

export const orderVerdictSchema = z.object({
  plan: planToken,
  inst: instrumentToken,
  clientOrderId,
  decision: z.enum(['approve', 'deny']),
  /** Stable reason code (`OK`, `MAX_NOTIONAL`, `HALTED`, …), listed in docs. */
  reason: z.string(),
  /** The rule that decided, the limit it holds and the value it saw. */
  rule: z.string(),
  limit: z.union([z.number(), z.string()]).optional(),
  value: z.union([z.number(), z.string()]).optional(),
  message: z.string(),
  /** Size and price after lot and tick rounding, when approved. */
  size: z.number().positive().optional(),
  price: z.number().positive().optional(),
});
export type OrderVerdict = z.infer<typeof orderVerdictSchema>;
export const OrderVerdictContract = defineContract({ type: 'order.verdict', version: 1, schema: orderVerdictSchema });

/** What the risk guard lets through: the intent's order fields, with size and price as approved. */
export const approvedOrderSchema = orderIntentSchema
  .pick({ plan: true, venue: true, inst: true, side: true, size: true, type: true, price: true, clientOrderId: true })
  .extend({ reduceOnly: z.boolean() });
export type ApprovedOrder = z.infer<typeof approvedOrderSchema>;
export const ApprovedOrderContract = defineContract({ type: 'order.approved', version: 1, schema: approvedOrderSchema });

export const ORDER_EVENT_KINDS = ['accepted', 'partially_filled', 'filled', 'canceled', 'rejected'] as const;

export const orderEventSchema = z.object({
  venue: venueToken,
  inst: instrumentToken,
  plan: planToken.optional(),
  clientOrderId: clientOrderId.optional(),
  venueOrderId: z.string().optional(),
  kind: z.enum(ORDER_EVENT_KINDS),
  side: z.enum(ORDER_SIDES),
  type: z.enum(ORDER_TYPES).optional(),
  price: z.number().positive().optional(),
  size: z.number().nonnegative(),
  filledSize: z.number().nonnegative(),
  avgPrice: z.number().nonnegative().optional(),
  /** The fill this event reports, when it reports one. */
  fill: z
    .object({
      price: z.number().positive(),
      size: z.number().positive(),
      fee: z.number(),
      feeCcy: z.string().optional(),
      tradeId: z.string().optional(),
    })
    .optional(),
  /** Venue code and text for rejects and cancels. */
  reason: z.string().optional(),
  /** The venue's time (ms) and ours. */
  venueTs: z.number().int().nonnegative(),
  receivedAt: z.number().int().nonnegative(),
});
export type OrderEvent = z.infer<typeof orderEventSchema>;
export const OrderEventContract = defineContract({ type: 'order.event', version: 1, schema: orderEventSchema });
