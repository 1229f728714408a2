import { barOpen, candleProblems, type QualityReport, readCandleMessages } from '@kokex/core';
import type { SeriesBook } from './book.js';
import { futureProblem } from './future.js';
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
  const limits = deps.limits(book);
  let ahead = 0;
  for (const m of messages) {
    const problems = candleProblems(m.data, book.key);
    // A bar closing after the wall clock cannot be real, whoever stored it (MD_CANDLES takes any
    // publish when the server has no per-actor users): quarantined and deleted like a bad bar, so
    // it never becomes the book's newest bar (which the gap scans and the tail are measured from).
    const future = m.ts === undefined || problems.length > 0 ? undefined : futureProblem(m.ts + book.tfMs, limits.wall, 'wall clock');
    if (future) problems.push(future);
    if (problems.length > 0 || m.ts === undefined) {
      if (future) book.future.deleted++;
      await quarantine(deps, book, { data: m.data, origin: 'stream', seq: m.seq, ...(m.id ? { messageId: m.id } : {}) }, problems);
      continue;
    }
    // In a replay, a stored bar more than a bar ahead of the series' market clock is not booked yet
    // (counted, kept: a later scan books it once the replay got there).
    if (m.ts + book.tfMs > limits.market) {
      ahead++;
      continue;
    }
    const drop = book.recordStored(m.ts, m.seq, m.data);
    if (drop !== undefined) await deleteStored(deps, drop);
  }
  if (ahead > 0) {
    book.future.skipped += ahead;
    deps.log.warn({ series: book.id, bars: ahead, limit: limits.market }, 'validator: stored bars ahead of the market clock not booked');
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
