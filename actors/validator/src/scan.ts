import { barOpen, candleProblems, type QualityReport, readCandleMessages } from '@kokex/core';
import type { SeriesBook } from './book.js';
import { backfill, deleteStored, fetchTail, quarantine, type RepairDeps, report } from './repair.js';

/**
 * Reads every stored message of the series from MD_CANDLES into the book: what the validator
 * accepted before (so a raw bar sent again is a repeat, not news). A bad bar found there (one
 * stored before the validator was the stream's only writer) is quarantined and deleted, a second
 * copy of a bar deleted (the first stored stays). What the validator knows at start, and the first
 * half of every scan.
 */
export async function loadStored(deps: RepairDeps, book: SeriesBook): Promise<number> {
  const messages = await readCandleMessages(deps.bus, book.key, 'candle');
  for (const m of messages) {
    const problems = candleProblems(m.data, book.key);
    if (problems.length > 0 || m.ts === undefined) {
      await quarantine(deps, book, { data: m.data, origin: 'stream', seq: m.seq, ...(m.id ? { messageId: m.id } : {}) }, problems);
      continue;
    }
    const drop = book.recordStored(m.ts, m.seq, m.data);
    if (drop !== undefined) await deleteStored(deps, drop);
  }
  return messages.length;
}

/**
 * The periodic full scan: the stored window (from the older of the first stored bar and the
 * newest minus the plan's window, to the newest) checked bar by bar against the grid, holes and
 * the tail after the newest bar fetched from the venue, then a `scan` report. The window is
 * measured from the newest stored bar, the venue's time, so a replay of old data scans the right
 * span. Throws when the venue fails (the next scan tries again).
 */
export async function scanSeries(deps: RepairDeps, book: SeriesBook): Promise<QualityReport> {
  await loadStored(deps, book);
  const latest = book.latest;
  const earliest = book.earliest;
  if (latest === undefined || earliest === undefined) return report(deps, book, 'scan');
  const from = Math.max(earliest, barOpen(latest - book.windowMs, book.key.tf));
  book.forgetBefore(from);
  book.retryUnfillable();
  book.expect(from, latest);
  await backfill(deps, book, book.pending());
  await fetchTail(deps, book);
  const to = book.latest ?? latest;
  return report(deps, book, 'scan', { from, to, stored: book.storedBetween(from, to) });
}
