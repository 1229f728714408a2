import { type Bus, type Candle, type Clock, type Logger, type MarketDataAdapter, nextBarOpen, Streams, subject } from '@kokex/core';
import { CandleFault, type CandleProblem, candleProblems, describeProblems, publishCandles } from '@kokex/plugin-candles';
import type { SeriesBook } from './book.js';
import { QualityContract, type QualityReport, type QuarantineRecord } from './contract.js';

/** What the validator's effects need. */
export interface RepairDeps {
  bus: Bus;
  log: Logger;
  clock: Clock;
  /** Envelope `source`: the validator instance. */
  source: string;
  /** The venue's adapter for a plan series; undefined for series no plan names. */
  adapterFor(book: SeriesBook): Promise<MarketDataAdapter | undefined>;
  /** Resolves once the published bars came back through the consumer (or after a bound), so reports count them. */
  awaitStored(book: SeriesBook, published: readonly number[]): Promise<void>;
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

/**
 * Keeps a bad bar out of the candle stream: a `quarantine` record with the reasons on the series'
 * quality subject, then (for a stored bar) the message deleted from MD_CANDLES. A bar whose
 * content is bad (OHLC, volume, schema) leaves its slot quarantined, not missing: asking the venue
 * again would most likely bring the same bar, and its message id would be refused as a duplicate
 * inside the de-duplication window anyway.
 */
export async function quarantine(
  deps: RepairDeps,
  book: SeriesBook,
  bar: { data: unknown; seq?: number },
  problems: readonly CandleProblem[],
  origin: QuarantineRecord['origin'],
): Promise<void> {
  const raw = bar.data as { ts?: unknown } | undefined;
  const ts = typeof raw?.ts === 'number' && Number.isFinite(raw.ts) ? raw.ts : undefined;
  // Only a bad bar of this series names a slot that stays empty: a misaligned one names no slot,
  // another series' bar or an unconfirmed one says nothing about this series' closed bar there.
  const ownsSlot = problems.every(
    (p) => p.fault !== CandleFault.Alignment && p.fault !== CandleFault.Subject && p.fault !== CandleFault.Unconfirmed,
  );
  book.quarantine(ownsSlot ? ts : undefined);
  const record: QuarantineRecord = {
    kind: 'quarantine',
    ...book.key,
    ...(ts === undefined ? {} : { ts }),
    origin,
    reasons: [...new Set(problems.map((p) => p.fault))],
    detail: describeProblems(problems),
    candle: bar.data,
    ...(bar.seq === undefined ? {} : { streamSeq: bar.seq }),
  };
  deps.log.warn({ series: book.id, ts, origin, detail: record.detail }, 'bar quarantined');
  await deps.bus.publish(QualityContract, subject('quality', book.key), record, {
    id: `quarantine:${book.id}:${ts ?? 'x'}:${bar.seq ?? origin}`,
    source: deps.source,
    time: deps.clock.now(),
  });
  if (bar.seq !== undefined) await deleteStored(deps, bar.seq);
}

/** Publishes the venue's good bars among `candles` that the book still misses; quarantines bad ones. Returns the bar opens published. */
async function publishMissing(deps: RepairDeps, book: SeriesBook, candles: readonly Candle[]): Promise<number[]> {
  const good: Candle[] = [];
  for (const c of candles) {
    if (!book.isMissing(c.ts)) continue;
    const problems = candleProblems(c, book.key);
    if (problems.length > 0) await quarantine(deps, book, { data: c }, problems, 'venue');
    else good.push(c);
  }
  const r = await publishCandles(deps.bus, good, { source: deps.source, time: deps.clock.now() });
  book.counts.backfilled += r.stored;
  return good.map((c) => c.ts);
}

/**
 * Asks the venue for missing bars and publishes them with their candle message ids (so a bar the
 * feed publishes at the same moment lands once). Bars the venue does not return are marked
 * unfillable: the live path stops asking, the next scan asks again. Throws when the venue fails.
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
 * The bars after the newest stored one that the venue already has (the feed may be down, or its
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
