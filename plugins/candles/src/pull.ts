import {
  type Bus,
  type Candle,
  candleProblems,
  describeProblems,
  lastCandleMessage,
  nextBarOpen,
  publishRawCandles,
  type SeriesKey,
} from '@kokex/core';
import type { CandleSource } from './types.js';

export interface PullCandlesOptions {
  bus: Bus;
  source: CandleSource;
  key: SeriesKey;
  /** First bar open wanted (ms). */
  since: number;
  /** Bars opening before this (ms); default: as far as the source goes (the venue's current bar). */
  until?: number;
  signal?: AbortSignal;
  /** After every page. */
  onProgress?(progress: PullProgress): void;
  /** Bars the checks refuse (never published). */
  onRejected?(candle: Candle, reason: string): void;
  /** Envelope `source`. Default `kokex-data`. */
  publisher?: string;
}

export interface PullProgress {
  key: SeriesKey;
  /** Where this run started (after resuming). */
  from: number;
  /** Open of the newest bar handled so far. */
  reached: number;
  read: number;
  stored: number;
}

export interface PullCandlesResult {
  key: SeriesKey;
  /** Where this run started: `since`, or the bar after the last one already stored. */
  from: number;
  /** Set when MD_RAW or MD_CANDLES already held bars at or after `since`. */
  resumedAfter: number | undefined;
  read: number;
  stored: number;
  /** Bars the stream already held under the same id (a re-run inside the de-duplication window). */
  duplicates: number;
  rejected: number;
  first: number | undefined;
  last: number | undefined;
  aborted: boolean;
}

/**
 * Copies history from a source into MD_RAW, the validator's inbox (the validator checks each bar
 * once and publishes it to MD_CANDLES), resumably: it starts after the last bar already sent or
 * validated for the key (the later of the two subjects' last messages) when that is later than
 * `since`, and publishes with `candleMessageId` ids so a page sent twice is stored once. Bars that
 * fail core's candle check are printed and not sent: the same check the validator applies, asked
 * early so the command can say why.
 */
export async function pullCandles(o: PullCandlesOptions): Promise<PullCandlesResult> {
  const [raw, validated] = await Promise.all([lastCandleMessage(o.bus, o.key, 'rawCandle'), lastCandleMessage(o.bus, o.key, 'candle')]);
  const lastTs = Math.max(raw?.ts ?? -1, validated?.ts ?? -1);
  const resumedAfter = lastTs >= 0 && lastTs >= o.since ? lastTs : undefined;
  const from = resumedAfter === undefined ? o.since : nextBarOpen(resumedAfter, o.key.tf);
  const result: PullCandlesResult = {
    key: o.key,
    from,
    resumedAfter,
    read: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    first: undefined,
    last: undefined,
    aborted: false,
  };
  if (o.until !== undefined && from >= o.until) return result;
  for await (const page of o.source.history(o.key, { since: from, until: o.until })) {
    if (o.signal?.aborted) {
      result.aborted = true;
      break;
    }
    const good: Candle[] = [];
    for (const candle of page) {
      const problems = candleProblems(candle, o.key);
      if (problems.length === 0) good.push(candle);
      else {
        result.rejected++;
        o.onRejected?.(candle, describeProblems(problems));
      }
    }
    const published = await publishRawCandles(o.bus, good, { source: o.publisher ?? 'kokex-data' });
    result.read += page.length;
    result.stored += published.stored;
    result.duplicates += published.duplicates;
    for (const c of page) {
      result.first = Math.min(result.first ?? c.ts, c.ts);
      result.last = Math.max(result.last ?? c.ts, c.ts);
    }
    o.onProgress?.({ key: o.key, from, reached: result.last ?? from, read: result.read, stored: result.stored });
  }
  return result;
}
