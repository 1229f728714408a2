import { barOpen } from '@kokex/core';
import { candleProblems, readCandleMessages } from '@kokex/plugin-candles';
import type { SeriesBook } from './book.js';
import type { QualityReport } from './contract.js';
import { backfill, deleteStored, fetchTail, quarantine, type RepairDeps, report } from './repair.js';

/**
 * Reads every stored message of the series into the book: bad bars quarantined (and deleted),
 * second copies of a bar deleted (the first stored stays). What the validator knows at start, and
 * the first half of every scan.
 */
export async function loadStored(deps: RepairDeps, book: SeriesBook): Promise<number> {
  const messages = await readCandleMessages(deps.bus, book.key);
  for (const m of messages) {
    const problems = candleProblems(m.data, book.key);
    if (problems.length > 0 || m.ts === undefined) {
      await quarantine(deps, book, m, problems, 'stream');
      continue;
    }
    const drop = book.recordStored(m.ts, m.seq);
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
  const published = [...(await backfill(deps, book, book.pending())), ...(await fetchTail(deps, book))];
  await deps.awaitStored(book, published);
  const to = book.latest ?? latest;
  return report(deps, book, 'scan', { from, to, stored: book.storedBetween(from, to) });
}
