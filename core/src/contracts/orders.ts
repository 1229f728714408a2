import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, planToken, timeframeToken, venueToken } from './tokens.js';

/**
 * The order path: intent (anyone) → verdict (risk guard) → approved order (risk guard only) →
 * order events (executor, from the venue). A cancel has its own path: cancel request (anyone) →
 * cancel verdict (risk guard) → approved cancel (risk guard only) → the venue's `canceled` event.
 * The client order id is the idempotency key from the intent to the fill; envelopes carry the
 * correlation id back to the forecast or conversation, and every intent and cancel names, as a
 * typed `basis`, what it acted on.
 */
export const ORDER_SIDES = ['buy', 'sell'] as const;
export const ORDER_TYPES = ['market', 'limit'] as const;
export const INTENT_ORIGINS = ['agent', 'rule', 'manual', 'scheduler'] as const;

/** What a decision can rest on: a forecast, another message that triggered it, or a person. */
export const BASIS_KINDS = ['forecast', 'trigger', 'manual'] as const;

/** OKX allows 1–32 letters and digits in clOrdId; we keep to that so it passes through unchanged. */
export const clientOrderId = z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'client order id: 1-32 letters and digits');

/**
 * What an intent (or a cancel) acted on. `forecast`: the forecast message it was decided on (its
 * envelope id, series and market time), which the risk guard reads back and judges the intent
 * against; `trigger`: another message that started the decision (a scheduled decision without a
 * forecast, a candle, an order event, a chat line), by type, id and market time; `manual`: a person
 * or a rule with nothing on the bus behind it (`origin` says who).
 */
export const decisionBasisSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('forecast'),
      /** The forecast's envelope id (its message id in FORECASTS). */
      id: z.string().min(1),
      inst: instrumentToken,
      tf: timeframeToken,
      /** The forecast's `asOf`: open time of the last closed bar it saw (market time, ms). */
      asOf: z.number().int(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('trigger'),
      /** The triggering message's type (`schedule.decision`, `md.candle`, `order.event`, `chat`). */
      type: z.string().min(1),
      id: z.string().min(1),
      /** The market time the trigger spoke for, when it has one. */
      asOf: z.number().int().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('manual') }).strict(),
]);
export type DecisionBasis = z.infer<typeof decisionBasisSchema>;

const originSchema = z.object({
  kind: z.enum(INTENT_ORIGINS),
  /** Who: the agent conversation, the rule name, the user. */
  who: z.string(),
  /** Why, in words, for the audit trail. */
  why: z.string(),
});

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
  origin: originSchema,
  /** What the decision acted on (v2: required; v1 carried it, untyped, in `refs`). */
  basis: decisionBasisSchema,
  /** Other ids for the audit trail (conversation id…), beside the envelope's correlation id. Never read by the guard. */
  refs: z.record(z.string()).default({}),
});
export type OrderIntent = z.infer<typeof orderIntentSchema>;
export type OrderIntentInput = z.input<typeof orderIntentSchema>;
/** v2: `basis` is required (v1 intents had none, and cancels were intents with `refs.action: cancel`). */
export const OrderIntentContract = defineContract({ type: 'order.intent', version: 2, schema: orderIntentSchema });

export const orderVerdictSchema = z.object({
  plan: planToken,
  inst: instrumentToken,
  clientOrderId,
  /**
   * The intent's side. The executor places an approval only when the verdict under its client
   * order id approved the same plan, instrument, side, size and price (verdicts stored before this
   * field existed have none, and their approvals are refused).
   */
  side: z.enum(ORDER_SIDES).optional(),
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

const sameNumber = (a: number | undefined, b: number | undefined) =>
  a === b || (a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

/**
 * Why an approval and the verdict under its client order id disagree, or undefined when the
 * approval says what the verdict approved (plan, instrument, side, size, price). An approval is a
 * message anyone with publish rights on `kokex.order.approved.>` can store; the verdict is what the
 * guard decided, so both the executor (before it places) and the guard's books (before they book)
 * honour an approval only behind its own approving verdict.
 */
export function approvalMismatch(order: ApprovedOrder, verdict: OrderVerdict): string | undefined {
  if (verdict.decision !== 'approve') return `the verdict denied it (${verdict.reason})`;
  if (verdict.plan !== order.plan) return `the verdict is for plan ${verdict.plan}, the approval for ${order.plan}`;
  if (verdict.inst !== order.inst) return `the verdict is for ${verdict.inst}, the approval for ${order.inst}`;
  if (verdict.side !== order.side) return `the verdict approved side ${verdict.side ?? '(none)'}, the approval says ${order.side}`;
  if (!sameNumber(verdict.size, order.size))
    return `the verdict approved size ${verdict.size ?? '(none)'}, the approval says ${order.size}`;
  if (!sameNumber(verdict.price, order.price))
    return `the verdict approved price ${verdict.price ?? '(market)'}, the approval says ${order.price ?? '(market)'}`;
  if ((order.type === 'limit') !== (verdict.price !== undefined))
    return `a ${order.type} order against a verdict ${verdict.price === undefined ? 'without' : 'with'} a price`;
  return undefined;
}

/**
 * A request to cancel one resting order of a plan: `kokex.order.cancel.{plan}.{inst}`, message id
 * `cancelrequest:{cancelId}`. It is not an intent: no side, size or price, nothing for the pre-trade
 * checks; the guard checks only the kill switch and that the order is one of the plan's live orders.
 */
export const cancelRequestSchema = z.object({
  plan: planToken,
  venue: venueToken,
  inst: instrumentToken,
  /** The id of this request (1–32 letters and digits): the verdict and the approval answer to it. */
  cancelId: clientOrderId,
  /** The client order id of the order to cancel. */
  clientOrderId,
  origin: originSchema,
  basis: decisionBasisSchema,
});
export type CancelRequest = z.infer<typeof cancelRequestSchema>;
export const CancelRequestContract = defineContract({ type: 'order.cancel', version: 1, schema: cancelRequestSchema });

/** The guard's answer to a cancel request: `kokex.order.cancelverdict.{plan}.{inst}`. */
export const cancelVerdictSchema = z.object({
  plan: planToken,
  inst: instrumentToken,
  cancelId: clientOrderId,
  /** The order the request would cancel. */
  clientOrderId,
  decision: z.enum(['approve', 'deny']),
  /** Stable reason code (`OK`, `CANCEL_TARGET_UNKNOWN`, …), listed in docs/orders.md. */
  reason: z.string(),
  rule: z.string(),
  message: z.string(),
});
export type CancelVerdict = z.infer<typeof cancelVerdictSchema>;
export const CancelVerdictContract = defineContract({ type: 'order.cancel.verdict', version: 1, schema: cancelVerdictSchema });

/** What the executor may cancel: `kokex.order.cancelapproved.{venue}.{inst}` (risk guard only). */
export const approvedCancelSchema = z.object({
  plan: planToken,
  /** The approvals' venue token (`paper` for paper plans), as for approved orders. */
  venue: venueToken,
  inst: instrumentToken,
  cancelId: clientOrderId,
  clientOrderId,
});
export type ApprovedCancel = z.infer<typeof approvedCancelSchema>;
export const ApprovedCancelContract = defineContract({ type: 'order.cancel.approved', version: 1, schema: approvedCancelSchema });

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
