import { writeFile } from 'node:fs/promises';
import { type Bus, CandleContract, type Candle, Streams, subject, timeframeMs } from '@kokex/core';
import { DeliverPolicy } from '@nats-io/jetstream';
import { NoCandlesError } from './errors.js';

/**
 * Exports the training window of one candle series from MD_CANDLES to the CSV format the Python
 * side reads (`ts,open,high,low,close,volume`, ts = bar open in Unix ms, ascending).
 *
 * The window ends at the newest stored bar (on a live feed that is now; in a replay it is the
 * replay's time, which the host clock knows nothing about) and reaches `windowMs` back. The series
 * is read by subject with an ordered consumer that starts at the window start *in stream time*:
 * a closed bar is stored after it opens, so no bar of the window was stored before the window
 * began, and the years before it are never read. Stream order is not bar order (backfills and
 * gap repairs store old bars late), so bars are keyed by open time, the later stored copy wins,
 * and the result is sorted.
 */
export interface CandleWindowOptions {
  venue: string;
  inst: string;
  tf: string;
  windowMs: number;
  /** Exclusive end (ms). Default: the close of the newest stored bar. */
  end?: number;
  /** Stop reading when aborted. */
  signal?: AbortSignal;
}

export interface CandleWindow {
  subject: string;
  candles: Candle[];
  /** Inclusive start and exclusive end of the window (ms). */
  start: number;
  end: number;
  /** Stored messages read, and those that were not valid candles (skipped). */
  read: number;
  invalid: number;
}

export interface CandleWindowFile extends Omit<CandleWindow, 'candles'> {
  path: string;
  rows: number;
  first?: number;
  last?: number;
}

/** Messages per pull. */
const READ_BATCH = 1000;
/** Slack before the window start in stream time, for clock skew between the producer and the server. */
const STREAM_TIME_SLACK_MS = 5 * 60_000;

/** Reads the window's bars, de-duplicated by open time and sorted. */
export async function readCandleWindow(bus: Bus, options: CandleWindowOptions): Promise<CandleWindow> {
  const subj = subject('candle', { venue: options.venue, inst: options.inst, tf: options.tf });
  const barMs = timeframeMs(options.tf);
  const lastStored = await bus.jsm.streams.getMessage(Streams.candles, { last_by_subj: subj });
  if (!lastStored) throw new NoCandlesError(subj, 'nothing stored; backfill the series first (kokex data pull, or the feed)');
  let estimatedEnd = options.end;
  if (estimatedEnd === undefined) {
    try {
      // The last stored message is usually the newest bar; after a backfill it may be older,
      // which only moves the estimate earlier (a longer read), never later.
      estimatedEnd = CandleContract.decode(lastStored.data).data.ts + barMs;
    } catch {
      // A bad bar the validator has not quarantined yet: no estimate, so read the whole series.
      estimatedEnd = Number.NEGATIVE_INFINITY;
    }
  }
  const startTime = estimatedEnd - options.windowMs - STREAM_TIME_SLACK_MS;
  const byTs = new Map<number, Candle>();
  let read = 0;
  let invalid = 0;
  const consumer = await bus.js.consumers.get(
    Streams.candles,
    startTime > 0
      ? { filter_subjects: subj, deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(startTime).toISOString() }
      : { filter_subjects: subj, deliver_policy: DeliverPolicy.All },
  );
  try {
    let more = true;
    while (more && !options.signal?.aborted) {
      const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        read++;
        try {
          const candle = CandleContract.decode(m.data).data;
          // Later stored copies of a bar replace earlier ones (a repaired bar is stored last).
          if (candle.confirmed) byTs.set(candle.ts, candle);
          else invalid++;
        } catch {
          invalid++;
        }
        // The last message of the series: leaving the loop ends the pull without waiting out its expiry.
        if (m.info.pending === 0) {
          more = false;
          break;
        }
      }
      if (got === 0) more = false;
    }
  } finally {
    // Ordered consumers are ephemeral; deleting this one spares the server its inactivity timeout.
    await consumer.delete().catch(() => undefined);
  }
  let maxTs = Number.NEGATIVE_INFINITY;
  for (const ts of byTs.keys()) if (ts > maxTs) maxTs = ts;
  const end = options.end ?? (Number.isFinite(maxTs) ? maxTs + barMs : 0);
  const start = end - options.windowMs;
  const candles = [...byTs.values()].filter((c) => c.ts >= start && c.ts < end).sort((a, b) => a.ts - b.ts);
  return { subject: subj, candles, start, end, read, invalid };
}

/** Writes candles as `ts,open,high,low,close,volume` (numbers as JavaScript prints them: exact round trips). */
export async function writeCandleCsv(path: string, candles: readonly Candle[]): Promise<void> {
  const rows = candles.map((c) => `${c.ts},${c.open},${c.high},${c.low},${c.close},${c.volume}\n`);
  await writeFile(path, `ts,open,high,low,close,volume\n${rows.join('')}`, 'utf8');
}

/** Reads the window and writes it to `path`; throws NoCandlesError when the window is empty. */
export async function exportCandleWindow(bus: Bus, path: string, options: CandleWindowOptions): Promise<CandleWindowFile> {
  const { candles, ...window } = await readCandleWindow(bus, options);
  if (candles.length === 0) {
    throw new NoCandlesError(
      window.subject,
      `none in the window ${new Date(window.start).toISOString()} … ${new Date(window.end).toISOString()} (${window.read} read, ${window.invalid} invalid)`,
    );
  }
  await writeCandleCsv(path, candles);
  return { ...window, path, rows: candles.length, first: candles[0]?.ts, last: candles[candles.length - 1]?.ts };
}

/**
 * The CSV's file name. The Python side reads venue, instrument and timeframe for the model card
 * from names like `okx_BTC-USDT-SWAP_1h_…`, with lower-case units for hours, days and weeks.
 */
export function candleCsvName(venue: string, inst: string, tf: string): string {
  const pythonTf = tf.replace(/utc$/, '').replace(/([0-9]+)([HDW])$/, (_, n: string, unit: string) => `${n}${unit.toLowerCase()}`);
  return `${venue}_${inst}_${pythonTf}_window.csv`;
}
