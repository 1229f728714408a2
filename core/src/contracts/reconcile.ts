import { z } from 'zod';
import { defineContract } from './envelope.js';
import { clientOrderId, ORDER_SIDES } from './orders.js';
import { instrumentToken, planToken, venueToken } from './tokens.js';

/**
 * The venue is the truth. The executor compares, per plan and instrument, what the venue holds
 * (open orders, the position, balances) with what the ORDERS stream says (the order events it
 * stored, from the last reconciliation on) and stores the result on
 * `kokex.order.reconcile.{plan}.{inst}`: at start (`status: reconciling` before it asks, then
 * `reconciled`), after a resubscription and every `reconcileEveryMs`. The guard books a
 * `reconciled` one as an authoritative correction of its position, and denies new risk
 * (`RECONCILING`) while the newest one for a plan's instrument says `reconciling`.
 */
export const RECONCILE_STATUSES = ['reconciling', 'reconciled', 'failed'] as const;

/**
 * `position`: the venue's position differs from the fills ORDERS holds; `order_unknown`: an order
 * open at the venue that ORDERS never placed; `order_missing`: an order ORDERS has working that the
 * venue no longer lists (its final state is reported as an order event); `order_fill`: the venue
 * filled more of a working order than ORDERS had heard (the missing fill is reported as an event).
 */
export const RECONCILE_DIFFERENCE_KINDS = ['position', 'order_unknown', 'order_missing', 'order_fill'] as const;

/** Bounds: a venue answer larger than this is cut (and said so), never refused. */
export const RECONCILE_MAX_ITEMS = 200;

const finite = () => z.number().finite();
const amount = () => z.number().finite().min(-1e15).max(1e15);

export const reconcileDifferenceSchema = z
  .object({
    kind: z.enum(RECONCILE_DIFFERENCE_KINDS),
    clientOrderId: clientOrderId.optional(),
    venueOrderId: z.string().max(64).optional(),
    /** The venue's value (a size in the venue's order unit). */
    venue: amount(),
    /** What ORDERS says. */
    book: amount(),
    message: z.string().max(500),
  })
  .strict();
export type ReconcileDifference = z.infer<typeof reconcileDifferenceSchema>;

export const reconcileSchema = z
  .object({
    plan: planToken,
    /** The approvals' venue token (`okx`, `paper`). */
    venue: venueToken,
    inst: instrumentToken,
    status: z.enum(RECONCILE_STATUSES),
    /** Why a reconciliation failed (status `failed`). */
    error: z.string().max(500).optional(),
    /** The venue's position (signed: positive long, in the venue's order unit), when status is `reconciled`. */
    position: z
      .object({ size: amount(), avgPrice: finite().nonnegative().max(1e15) })
      .strict()
      .optional(),
    /** The position the order events in ORDERS add up to (from the previous reconciliation on). */
    booked: amount().optional(),
    /** The venue's open orders on the instrument (client order id, side, size, filled). */
    openOrders: z
      .array(
        z
          .object({
            clientOrderId: clientOrderId.optional(),
            venueOrderId: z.string().max(64),
            side: z.enum(ORDER_SIDES),
            size: amount(),
            filledSize: amount(),
            price: finite().positive().max(1e15).optional(),
          })
          .strict(),
      )
      .max(RECONCILE_MAX_ITEMS)
      .default([]),
    /** The account's balances (shared by every plan on the account). */
    balances: z
      .array(z.object({ ccy: z.string().min(1).max(16), total: amount(), available: amount() }).strict())
      .max(RECONCILE_MAX_ITEMS)
      .default([]),
    differences: z.array(reconcileDifferenceSchema).max(RECONCILE_MAX_ITEMS).default([]),
    /** The venue listed more than `RECONCILE_MAX_ITEMS` of something: the lists above are cut. */
    truncated: z.boolean().default(false),
    /**
     * With a status other than `reconciled`: the stream sequence of the newest `reconciled` one of
     * this plan and instrument, where the executor's count of ORDERS starts after a restart (an
     * announcement stored last must not send it back to the first message of the stream).
     */
    since: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    /** The run: one id per executor session start and count (`{instance}:{n}`). */
    run: z.string().min(1).max(200),
  })
  .strict();
export type Reconcile = z.infer<typeof reconcileSchema>;
export type ReconcileInput = z.input<typeof reconcileSchema>;
export const ReconcileContract = defineContract({ type: 'order.reconcile', version: 1, schema: reconcileSchema });
