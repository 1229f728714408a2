import { z } from 'zod';
import {
  approvedOrderSchema,
  cancelVerdictSchema,
  clientOrderId,
  ORDER_EVENT_KINDS,
  ORDER_SIDES,
  ORDER_TYPES,
  orderVerdictSchema,
} from './orders.js';
import { RECONCILE_STATUSES } from './reconcile.js';
import { instrumentToken, planToken } from './tokens.js';

/**
 * The risk guard's books as of one ORDERS stream sequence (issue 12 finding 3): what its start
 * loads before it reads ORDERS after `seq` only, instead of the whole stream. Stored by the guard
 * alone (the only kind granted the `kokex-books` object store, `core/src/deploy/access.ts`) as one
 * object, `BOOKS_SNAPSHOT_OBJECT`, gzip-compressed JSON. An object store rather than a KV value:
 * a month of books is several MiB, a KV value is at most the server's max_payload (1 MiB), and the
 * object store replaces an object atomically (chunks first, then the meta; the old chunks are
 * purged) with a SHA-256 digest the client checks on every read.
 *
 * `schema` is checked first, alone: a snapshot of another schema (older or newer than
 * `BOOKS_SNAPSHOT_SCHEMA`) is ignored and the books are rebuilt from the stream.
 */
export const BOOKS_SNAPSHOT_SCHEMA = 1;
/** The object holding the latest snapshot, in `Buckets`-style store `kokex-books`. */
export const BOOKS_SNAPSHOT_OBJECT = 'risk-guard.books';

const finite = () => z.number().finite();
const time = () => z.number().finite();
const text = (max: number) => z.string().max(max);

export const ledgerOrderSnapshotSchema = z
  .object({
    clientOrderId,
    inst: instrumentToken,
    side: z.enum(ORDER_SIDES),
    type: z.enum(ORDER_TYPES),
    size: finite(),
    price: finite().optional(),
    reduceOnly: z.boolean(),
    state: z.enum(['pending', 'open', 'closed']),
    filled: finite(),
    avgPrice: finite(),
    venueOrderId: text(256).optional(),
    lastEvent: z.enum(ORDER_EVENT_KINDS).optional(),
    reason: text(4096).optional(),
    approvedAt: time(),
    updatedAt: time(),
  })
  .strict();

export const ledgerFillSnapshotSchema = z
  .object({
    clientOrderId,
    inst: instrumentToken,
    side: z.enum(ORDER_SIDES),
    size: finite(),
    price: finite(),
    fee: finite(),
    realizedRaw: finite(),
    at: time(),
  })
  .strict();

export const ledgerLegSnapshotSchema = z.object({ qty: finite(), avgPrice: finite(), tradeRaw: finite(), tradeFees: finite() }).strict();

/** One plan's ledger: every map as entries, in insertion order (which the ledger's walks follow). */
export const ledgerSnapshotSchema = z
  .object({
    plan: planToken,
    decided: z.array(z.tuple([clientOrderId, text(256), orderVerdictSchema, time()])),
    cancels: z.array(z.tuple([clientOrderId, text(256), cancelVerdictSchema, time()])),
    orders: z.array(ledgerOrderSnapshotSchema),
    legs: z.array(z.tuple([instrumentToken, ledgerLegSnapshotSchema])),
    fills: z.array(ledgerFillSnapshotSchema),
    /** Approval times within the hour before the newest one (the rate windows). */
    approvals: z.array(time()),
    lastApprovalAt: time().optional(),
    /** Approvals read before their verdict (the guard stores both at once): booked when it comes. */
    unmatchedApprovals: z
      .array(z.tuple([approvedOrderSchema, time()]))
      .max(1024)
      .optional(),
    /** The latest closed trades (the loss streak), oldest first. */
    trades: z.array(z.object({ inst: instrumentToken, raw: finite(), fees: finite(), closedAt: time() }).strict()),
    reconciliation: z.array(z.tuple([instrumentToken, z.object({ status: z.enum(RECONCILE_STATUSES), run: text(256) }).strict()])),
  })
  .strict();
export type LedgerSnapshot = z.infer<typeof ledgerSnapshotSchema>;

export const booksSnapshotSchema = z
  .object({
    schema: z.literal(BOOKS_SNAPSHOT_SCHEMA),
    /** Every ORDERS message up to and including this sequence is in the books (and none after it that a re-read would change). */
    seq: z.number().int().nonnegative(),
    /** The ORDERS stream's creation time (its `created`): a snapshot of a stream since deleted and recreated is not believed. */
    streamCreated: text(64),
    /** Wall time of the write (ms) and the instance that wrote it. */
    writtenAt: z.number().int().nonnegative(),
    source: text(128),
    ledgers: z.array(ledgerSnapshotSchema),
    /** The books' refusal counters (`PlanBooks.refused`), so a restored guard reports what a rebuilt one would. */
    refused: z.record(z.number().int().nonnegative()),
  })
  .strict();
export type BooksSnapshot = z.infer<typeof booksSnapshotSchema>;
