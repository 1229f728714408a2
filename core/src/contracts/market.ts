import { z } from 'zod';
import { candleProblems } from '../market/check.js';
import { defineContract } from './envelope.js';
import { instrumentToken, timeframeToken, venueToken } from './tokens.js';

/**
 * One OHLCV bar. `ts` is the bar's open time (Unix ms, UTC); prices in quote currency, volume in
 * base. The shape gives the types; every rule on the values (positive prices, non-negative volume,
 * integer non-negative times, tokens) is core's one candle check (`candleProblems` in
 * `core/src/market/check.ts`) at level `fields`, applied here as a refinement, so the schema, the
 * venue parsers (level `bar`: consistent prices too) and the validator (level `closed`: confirmed,
 * on the bar grid, its subject's) share one definition. Those stricter rules are the path's, not
 * the wire's: a forming bar is an `md.candle` too, and only the validator writes MD_CANDLES.
 */
export const candleSchema = z
  .object({
    venue: venueToken,
    inst: instrumentToken,
    tf: timeframeToken,
    ts: z.number(),
    open: z.number(),
    high: z.number(),
    low: z.number(),
    close: z.number(),
    volume: z.number(),
    /** Quote-currency volume when the venue reports it. */
    volumeQuote: z.number().optional(),
    /** True once the bar is closed (OKX `confirm` = "1"). Only closed bars go on MD_CANDLES. */
    confirmed: z.boolean(),
    /** Local receive time (ms), kept beside the venue's time as Nautilus does. */
    receivedAt: z.number().optional(),
  })
  .superRefine((c, ctx) => {
    for (const p of candleProblems(c, undefined, { level: 'fields' })) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: p.detail, path: p.field ? [p.field] : [] });
    }
  });
export type Candle = z.infer<typeof candleSchema>;

/** `kokex.md.candle.{venue}.{inst}.{tf}` (validated closed bars, MD_CANDLES) and `kokex.md.live.…` (in progress, core NATS). */
export const CandleContract = defineContract({ type: 'md.candle', version: 1, schema: candleSchema });

/**
 * `kokex.md.raw.{venue}.{inst}.{tf}` (MD_RAW): a bar as a feed, `kokex data pull` or any producer
 * saw it, before the validator. Read loosely: the envelope is checked, the bar is not, so a bar
 * the candle check refuses still reaches the validator and is quarantined with its reasons instead
 * of going to the dead-letter stream unexplained. Producers publish `Candle`s.
 */
export const RawCandleContract = defineContract({ type: 'md.raw', version: 1, schema: z.unknown() });
