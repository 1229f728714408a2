import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, timeframeToken, venueToken } from './tokens.js';

/** What can be wrong with a closed candle: the reasons a quarantine record gives. */
export const CandleFault = {
  /** Not a candle at all: missing or non-numeric fields (a NaN arrives as null), prices not positive, bad tokens. */
  Schema: 'schema',
  /** Venue, instrument or timeframe differ from the subject it was published under. */
  Subject: 'subject',
  /** An in-progress bar where only closed bars belong. */
  Unconfirmed: 'unconfirmed',
  /** High below open/close/low, or low above open/close. */
  Ohlc: 'ohlc',
  /** Negative base or quote volume. */
  Volume: 'volume',
  /** `ts` is not the open of a bar of its timeframe. */
  Alignment: 'alignment',
  /** A second copy of a bar already accepted, with other prices or volume: the first copy stays. */
  Duplicate: 'duplicate',
  /** Closes after now (the wall clock, or in a replay the market clock) beyond a tolerance: a bar that cannot have closed yet. */
  Future: 'future',
} as const;
export type CandleFault = (typeof CandleFault)[keyof typeof CandleFault];

/** Where a quarantined bar was found. */
export const QUARANTINE_ORIGINS = [
  /** On `kokex.md.raw.…` (a feed, a pull, any producer): never published to MD_CANDLES. */
  'raw',
  /** Already stored in MD_CANDLES (found by a scan, e.g. written before the validator was the only writer): deleted there. */
  'stream',
  /** In the venue's REST answer to a backfill: never published. */
  'venue',
] as const;
export type QuarantineOrigin = (typeof QUARANTINE_ORIGINS)[number];

const counts = {
  /** Bars found missing against the bar grid (since this validator started). */
  gapsFound: z.number().int().nonnegative(),
  /** Of those, bars that arrived since (from the feed, a late push, or this validator's backfill). */
  filled: z.number().int().nonnegative(),
  /** Bars this validator fetched from the venue and published. */
  backfilled: z.number().int().nonnegative(),
  /** Bars quarantined. */
  rejected: z.number().int().nonnegative(),
  /** Copies of an accepted bar that arrived again (never republished) or were found stored twice (deleted). */
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
  /** The series' newest validated bar: the venue's time, not the validator's clock. */
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
  origin: z.enum(QUARANTINE_ORIGINS),
  reasons: z.array(z.nativeEnum(CandleFault)).min(1),
  detail: z.string(),
  /** The bar as it was. */
  candle: z.unknown(),
  /** Sequence of the message in its stream (MD_RAW for `raw`, MD_CANDLES for `stream`). */
  streamSeq: z.number().int().optional(),
  /** Id of the message that carried the bar, when it came in one. */
  messageId: z.string().optional(),
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
