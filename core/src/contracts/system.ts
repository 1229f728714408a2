import { z } from 'zod';
import { defineContract } from './envelope.js';

const wireErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  data: z.record(z.unknown()).optional(),
});

/** What lands on `kokex.dlq.{stream}.{consumer}` after a message failed every allowed delivery. */
export const DeadLetterContract = defineContract({
  type: 'sys.dead-letter',
  version: 1,
  schema: z.object({
    stream: z.string(),
    consumer: z.string(),
    subject: z.string(),
    streamSeq: z.number().int(),
    deliveries: z.number().int(),
    error: wireErrorSchema,
    /**
     * The start of the original payload as UTF-8 text (envelopes are JSON), at most
     * `DEAD_LETTER_EXCERPT_BYTES`: a dead letter must always fit its stream, however big the
     * message was. The whole message stays in its stream at `streamSeq` until retention drops it.
     */
    payload: z.string(),
    /** Size of the original payload in bytes. */
    payloadBytes: z.number().int().nonnegative().optional(),
    /** True when `payload` is only the start of it. */
    truncated: z.boolean().default(false),
  }),
});

/** How much of a dead message's payload its dead letter carries. */
export const DEAD_LETTER_EXCERPT_BYTES = 4096;
export type DeadLetter = z.infer<typeof DeadLetterContract.schema>;

/** One tick per bar boundary: the bar that opened at `barOpen` closed at `boundary`. */
export const ClockTickContract = defineContract({
  type: 'clock.tick',
  version: 1,
  schema: z.object({
    tf: z.string(),
    /** Open time of the bar that just closed (ms). */
    barOpen: z.number().int(),
    /** The boundary itself: the close of that bar and the open of the next (ms). */
    boundary: z.number().int(),
    /** How late the tick fired after the boundary (ms), for monitoring timer drift. */
    lateMs: z.number(),
    /**
     * The replayed plan whose market time crossed the boundary (its candles' `eventTime`); absent
     * on wall-clock ticks. A replay's ticks speak for the data's time, not the present.
     */
    plan: z.string().min(1).optional(),
  }),
});
export type ClockTick = z.infer<typeof ClockTickContract.schema>;

/** Published on `kokex.plan.changed.{plan}` when a plan is applied or deleted. */
export const PlanChangedContract = defineContract({
  type: 'plan.changed',
  version: 1,
  schema: z.object({
    plan: z.string(),
    action: z.enum(['applied', 'deleted']),
    revision: z.number().int(),
    /** Top-level spec sections that changed since the previous revision. */
    changedSections: z.array(z.string()),
  }),
});
export type PlanChanged = z.infer<typeof PlanChangedContract.schema>;
