import { assertTimeframe, type Candle, timeframeMs } from '@kokex/core';
import { parseCandleRows } from '../common/parse.js';
import type { OkxCandleHistoryRequest, OkxCandleRow, OkxCandlesParams } from './models.js';

/** What the paginator needs from the REST client: the two candle endpoints. */
export interface OkxCandlePageSource {
  getCandles(params: OkxCandlesParams, signal?: AbortSignal): Promise<OkxCandleRow[]>;
  getHistoryCandles(params: OkxCandlesParams, signal?: AbortSignal): Promise<OkxCandleRow[]>;
}

/** OKX's maximum `limit` for both candle endpoints. */
export const OKX_CANDLE_PAGE_MAX = 300;
/** /market/candles serves the latest 1,440 bars; `auto` stays well inside that. */
const RECENT_COVERAGE_BARS = 1_400;
const DAY_MS = 86_400_000;

/** The shortest a bar can be: months vary, so a window of N bars is sized with 28-day months. */
function minBarMs(bar: string): number {
  const m = /^(\d+)M(utc)?$/.exec(bar);
  return m ? Number(m[1]) * 28 * DAY_MS : timeframeMs(bar);
}

/**
 * Walks [since, until) in forward windows of at most `pageLimit` bars. Inside a window it pages
 * newest-first: `after` = the oldest ts held (exclusive), `before` = since - 1 (exclusive), until a
 * page reaches the window start, comes back empty, or comes back short. "Short" is judged against
 * the largest page seen so far, so a server that caps `limit` below what we asked is still read
 * to the end. Each window is de-duplicated, sorted ascending and yielded before the next is read.
 */
export async function* paginateCandleHistory(
  source: OkxCandlePageSource,
  request: OkxCandleHistoryRequest & { until: number },
  now: () => number,
): AsyncGenerator<Candle> {
  const bar = assertTimeframe(request.bar);
  const pageLimit = Math.max(1, Math.min(OKX_CANDLE_PAGE_MAX, request.pageLimit ?? OKX_CANDLE_PAGE_MAX));
  const span = pageLimit * minBarMs(bar);
  let largestPage = 0;

  for (let windowStart = request.since; windowStart < request.until; ) {
    const windowEnd = Math.min(request.until, windowStart + span);
    const fetchPage = pickEndpoint(source, request, windowStart, bar, now);
    const byTs = new Map<number, Candle>();
    let upper = windowEnd;
    for (;;) {
      const receivedAt = now();
      const rows = await fetchPage(
        { instId: request.instId, bar, after: upper, before: windowStart - 1, limit: pageLimit },
        request.signal,
      );
      const candles = parseCandleRows(rows, { instId: request.instId, bar, receivedAt, confirmedIfMissing: true });
      largestPage = Math.max(largestPage, candles.length);
      let oldest = Number.POSITIVE_INFINITY;
      for (const c of candles) {
        oldest = Math.min(oldest, c.ts);
        if (c.ts >= windowStart && c.ts < upper && !byTs.has(c.ts)) byTs.set(c.ts, c);
      }
      const reachedStart = oldest <= windowStart;
      const noProgress = !(oldest < upper);
      const short = candles.length < Math.min(pageLimit, largestPage);
      if (candles.length === 0 || reachedStart || noProgress || short) break;
      upper = oldest;
    }
    const ordered = [...byTs.values()].sort((a, b) => a.ts - b.ts);
    for (const candle of ordered) {
      if (candle.confirmed || request.includeUnconfirmed) yield candle;
    }
    windowStart = windowEnd;
  }
}

function pickEndpoint(
  source: OkxCandlePageSource,
  request: OkxCandleHistoryRequest,
  windowStart: number,
  bar: string,
  now: () => number,
): (params: OkxCandlesParams, signal?: AbortSignal) => Promise<OkxCandleRow[]> {
  const recent = (p: OkxCandlesParams, s?: AbortSignal) => source.getCandles(p, s);
  const history = (p: OkxCandlesParams, s?: AbortSignal) => source.getHistoryCandles(p, s);
  switch (request.source ?? 'history') {
    case 'recent':
      return recent;
    case 'auto':
      return windowStart >= now() - RECENT_COVERAGE_BARS * timeframeMs(bar) ? recent : history;
    default:
      return history;
  }
}
