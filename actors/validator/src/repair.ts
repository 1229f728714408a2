import {
  type Bus,
  barClose,
  type Candle,
  CandleContract,
  CandleFault,
  type CandleProblem,
  type Clock,
  candleMessageId,
  candleProblems,
  describeProblems,
  type EnvelopeMeta,
  type Logger,
  type MarketDataAdapter,
  nextBarOpen,
  problemFaults,
  QualityContract,
  type QualityReport,
  type QuarantineOrigin,
  type QuarantineRecord,
  Streams,
  subject,
} from '@kokex/core';
import type { SeriesBook } from './book.js';
import type { FutureLimits } from './future.js';

/** What the validator's effects need. */
export interface RepairDeps {
  bus: Bus;
  log: Logger;
  clock: Clock;
  /** Envelope `source`: the validator instance. */
  source: string;
  /** The venue's adapter for a plan series; undefined for series no plan names. */
  adapterFor(book: SeriesBook): Promise<MarketDataAdapter | undefined>;
  /** The latest closes a bar of the series may have now (`future.ts`). */
  limits(book: SeriesBook): FutureLimits;
  /** An accepted bar of the series closed at `close`: a replay's market clock moves to it. */
  observe(book: SeriesBook, close: number): void;
}

/** Ranges closer than this many bars are fetched as one (a page of OKX history is 300). */
const MERGE_BARS = 300;

/** Missing bar opens (ascending) as [from, to) ranges to fetch. */
export function fetchRanges(slots: readonly number[], tf: string, tfMs: number): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  for (const ts of slots) {
    const last = ranges[ranges.length - 1];
    if (last && ts - last.to < MERGE_BARS * tfMs) last.to = nextBarOpen(ts, tf);
    else ranges.push({ from: ts, to: nextBarOpen(ts, tf) });
  }
  return ranges;
}

/** Removes a message from MD_CANDLES; one another replica removed already is not an error. */
export async function deleteStored(deps: RepairDeps, seq: number): Promise<void> {
  try {
    await deps.bus.jsm.streams.deleteMessage(Streams.candles, seq, false);
  } catch (err) {
    if (!/no message found|not found/i.test((err as Error).message)) throw err;
  }
}

/** Where a bar to quarantine was found: its origin, and the message that carried it. */
export interface QuarantinedBar {
  data: unknown;
  origin: QuarantineOrigin;
  /** Sequence in its stream (MD_RAW for `raw`, MD_CANDLES for `stream`). */
  seq?: number;
  /** The carrying envelope's id. */
  messageId?: string;
}

/**
 * Keeps a bad bar out of the candle stream: a `quarantine` record with the reasons on the series'
 * quality subject; a bar already stored in MD_CANDLES (`origin: stream`) is deleted there. A raw
 * bar is simply never published (MD_RAW is an inbox and ages out). A bar whose content is bad
 * (OHLC, volume, schema) leaves its slot quarantined, not missing: asking the venue again would
 * most likely bring the same bar. A conflicting copy of an accepted bar leaves the slot as it is.
 */
export async function quarantine(
  deps: RepairDeps,
  book: SeriesBook,
  bar: QuarantinedBar,
  problems: readonly CandleProblem[],
): Promise<void> {
  const raw = bar.data as { ts?: unknown } | undefined;
  const ts = typeof raw?.ts === 'number' && Number.isFinite(raw.ts) ? raw.ts : undefined;
  // Only a bad bar of this series names a slot that stays empty: a misaligned one names no slot,
  // another series' bar or an unconfirmed one says nothing about this series' closed bar there,
  // and a conflicting copy's slot holds the first copy.
  // A bar from the future says nothing about its slot either: the real one comes when time gets there.
  const freesNoSlot: readonly CandleFault[] = [
    CandleFault.Alignment,
    CandleFault.Subject,
    CandleFault.Unconfirmed,
    CandleFault.Duplicate,
    CandleFault.Future,
  ];
  const ownsSlot = problems.every((p) => !freesNoSlot.includes(p.fault));
  book.quarantine(ownsSlot ? ts : undefined);
  const record: QuarantineRecord = {
    kind: 'quarantine',
    ...book.key,
    ...(ts === undefined ? {} : { ts }),
    origin: bar.origin,
    reasons: problemFaults(problems),
    detail: describeProblems(problems),
    candle: bar.data,
    ...(bar.seq === undefined ? {} : { streamSeq: bar.seq }),
    ...(bar.messageId === undefined ? {} : { messageId: bar.messageId }),
  };
  deps.log.warn({ series: book.id, ts, origin: bar.origin, detail: record.detail }, 'bar quarantined');
  await deps.bus.publish(QualityContract, subject('quality', book.key), record, {
    id: `quarantine:${bar.origin}:${book.id}:${ts ?? 'x'}:${bar.seq ?? bar.messageId ?? 'venue'}`,
    source: deps.source,
    time: deps.clock.now(),
  });
  if (bar.origin === 'stream' && bar.seq !== undefined) await deleteStored(deps, bar.seq);
}

/**
 * Publishes one accepted bar to `kokex.md.candle.…` (MD_CANDLES) with its candle message id, the
 * validator being that stream's only writer, and records where it was stored. `meta` carries the
 * raw message's correlation and causation when there was one; its `eventTime` is the bar's close. A failed publish
 * forgets the admission and throws, so the raw message is redelivered and accepted again.
 */
export async function publishAccepted(deps: RepairDeps, book: SeriesBook, candle: Candle, meta: EnvelopeMeta = {}): Promise<boolean> {
  try {
    const r = await deps.bus.publish(CandleContract, subject('candle', book.key), candle, {
      ...meta,
      id: candleMessageId(book.key.venue, book.key.inst, book.key.tf, candle.ts),
      // A candle speaks for its close, backfilled or not (the feed stamped the raw bar the same).
      eventTime: barClose(candle.ts, book.key.tf),
      source: deps.source,
      time: deps.clock.now(),
    });
    book.stored(candle.ts, r.seq);
    deps.observe(book, barClose(candle.ts, book.key.tf));
    return !r.duplicate;
  } catch (err) {
    book.forget(candle.ts);
    throw err;
  }
}

/**
 * Checks the venue's bars among `candles` that the book still misses and publishes the good ones
 * straight to MD_CANDLES (they never pass MD_RAW); bad ones are quarantined. Returns the bar opens
 * published.
 */
async function publishMissing(deps: RepairDeps, book: SeriesBook, candles: readonly Candle[]): Promise<number[]> {
  const accepted: Candle[] = [];
  for (const c of candles) {
    if (!book.isMissing(c.ts)) continue;
    const problems = candleProblems(c, book.key);
    if (problems.length > 0) await quarantine(deps, book, { data: c, origin: 'venue' }, problems);
    else if (book.admit(c.ts, c).kind === 'filled') accepted.push(c);
  }
  const results = await Promise.allSettled(accepted.map((c) => publishAccepted(deps, book, c)));
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    if (r.value) book.counts.backfilled++;
  }
  return accepted.map((c) => c.ts);
}

/**
 * Asks the venue for missing bars, checks them and publishes them with their candle message ids.
 * Bars the venue does not return are marked unfillable: the live path stops asking, the next scan
 * asks again. Throws when the venue fails.
 */
export async function backfill(deps: RepairDeps, book: SeriesBook, slots: readonly number[]): Promise<number[]> {
  if (slots.length === 0) return [];
  const adapter = await deps.adapterFor(book);
  if (!adapter) {
    book.markUnfillable(slots);
    return [];
  }
  const returned = new Set<number>();
  const published: number[] = [];
  for (const range of fetchRanges(slots, book.key.tf, book.tfMs)) {
    for await (const page of adapter.candleHistory({ inst: book.key.inst, tf: book.key.tf, since: range.from, until: range.to })) {
      for (const c of page) returned.add(c.ts);
      published.push(...(await publishMissing(deps, book, page)));
    }
  }
  book.markUnfillable(slots.filter((ts) => !returned.has(ts)));
  return published;
}

/**
 * The bars after the newest accepted one that the venue already has (the feed may be down, or its
 * last push lost with nothing after it to reveal the gap): counted as found missing, then published.
 */
export async function fetchTail(deps: RepairDeps, book: SeriesBook): Promise<number[]> {
  const latest = book.latest;
  const adapter = await deps.adapterFor(book);
  const published: number[] = [];
  if (latest === undefined || !adapter) return published;
  for await (const page of adapter.candleHistory({ inst: book.key.inst, tf: book.key.tf, since: nextBarOpen(latest, book.key.tf) })) {
    const first = page[0];
    const last = page[page.length - 1];
    if (!first || !last) continue;
    book.expect(first.ts, nextBarOpen(last.ts, book.key.tf));
    published.push(...(await publishMissing(deps, book, page)));
  }
  return published;
}

/** A quality report of the series on `kokex.md.quality.{venue}.{inst}.{tf}`. */
export async function report(
  deps: RepairDeps,
  book: SeriesBook,
  trigger: QualityReport['trigger'],
  window?: QualityReport['window'],
): Promise<QualityReport> {
  const message: QualityReport = {
    kind: 'report',
    ...book.key,
    trigger,
    ...(book.latest === undefined ? {} : { latest: book.latest }),
    ...(window ? { window } : {}),
    ...book.counts,
    missing: book.missingCount(),
    unfillable: book.unfillableCount(),
  };
  await deps.bus.publish(QualityContract, subject('quality', book.key), message, { source: deps.source, time: deps.clock.now() });
  return message;
}
