import { defineContract, instrumentToken, timeframeToken, venueToken } from '@kokex/core';
import { CandleFault } from '@kokex/plugin-candles';
import { z } from 'zod';

/**
 * `md.candle` v1 read loosely: the envelope is checked, the candle is not, so that a bar core's
 * strict schema refuses still reaches the validator and is quarantined with its reasons instead of
 * going to the dead-letter stream unexplained.
 */
export const LooseCandleContract = defineContract({ type: 'md.candle', version: 1, schema: z.unknown() });

const counts = {
  /** Bars found missing against the bar grid (since this validator started). */
  gapsFound: z.number().int().nonnegative(),
  /** Of those, bars that arrived since (from the feed, a late push, or this validator's backfill). */
  filled: z.number().int().nonnegative(),
  /** Bars this validator fetched from the venue and published. */
  backfilled: z.number().int().nonnegative(),
  /** Bars quarantined. */
  rejected: z.number().int().nonnegative(),
  /** Extra copies of a stored bar removed from the stream. */
  duplicates: z.number().int().nonnegative(),
  /** Bars that arrived after a later bar of their series (late pushes and every filled hole). */
  outOfOrder: z.number().int().nonnegative(),
  /** Bars missing right now. */
  missing: z.number().int().nonnegative(),
  /** Of those, bars the venue did not have either when asked. */
  unfillable: z.number().int().nonnegative(),
};

const seriesFields = { venue: venueToken, inst: instrumentToken, tf: timeframeToken };

/** Quality of one series, after a gap was handled (`trigger: gap`) or a full scan (`trigger: scan`). */
export const qualityReportSchema = z.object({
  kind: z.literal('report'),
  ...seriesFields,
  trigger: z.enum(['gap', 'scan']),
  /** The series' newest stored bar: the venue's time, not the validator's clock. */
  latest: z.number().int().optional(),
  /** What a scan covered: [from, to] bar opens, and how many bars it found stored there. */
  window: z.object({ from: z.number().int(), to: z.number().int(), stored: z.number().int().nonnegative() }).optional(),
  ...counts,
});

/** A bar kept out of the candle stream, with why. */
export const quarantineSchema = z.object({
  kind: z.literal('quarantine'),
  ...seriesFields,
  ts: z.number().optional(),
  /** `stream`: found in MD_CANDLES (and deleted there); `venue`: refused before a backfill published it. */
  origin: z.enum(['stream', 'venue']),
  reasons: z.array(z.nativeEnum(CandleFault)).min(1),
  detail: z.string(),
  /** The bar as it was. */
  candle: z.unknown(),
  streamSeq: z.number().int().optional(),
});

/** `kokex.md.quality.{venue}.{inst}.{tf}` (stream MD_QUALITY): `kind` says report or quarantine. */
export const QualityContract = defineContract({
  type: 'md.quality',
  version: 1,
  schema: z.discriminatedUnion('kind', [qualityReportSchema, quarantineSchema]),
});
export type QualityMessage = z.output<typeof QualityContract.schema>;
export type QualityReport = z.output<typeof qualityReportSchema>;
export type QuarantineRecord = z.output<typeof quarantineSchema>;
