import { CandleFault, type CandleProblem, type MarketClock, MarketClockKind } from '@kokex/core';

/**
 * Times in the future are refused (issue 12 finding 1, the stored forged candle): a bar the
 * validator would book must have closed by now. Two bounds, both with `toleranceMs` of slack
 * (clocks differ a little):
 *
 * - **the wall clock**, in every mode: no venue, feed or replay of history can know a bar that has
 *   not closed in real time yet, so a bar closing after it is false, whoever stored it;
 * - **the series' market clock** in a replay (an event clock, moved only by the bars this
 *   validator accepted from the raw path or the venue, never by what it reads back from
 *   MD_CANDLES): a stored bar closing more than one bar ahead of it is not believed yet. Live the
 *   market clock is the wall clock, so the first bound is all there is.
 *
 * Pure: the validator passes the clocks in, tests pass numbers.
 */
export interface FutureLimits {
  /** The latest close any bar may have: wall now + tolerance. */
  wall: number;
  /** The latest close a stored bar may have to be booked; `wall` live, or while the replay's clock has seen nothing. */
  market: number;
}

export function futureLimits(o: { wallNow: number; market: MarketClock; tfMs: number; toleranceMs: number }): FutureLimits {
  const wall = o.wallNow + o.toleranceMs;
  const now = o.market.kind === MarketClockKind.event ? o.market.now() : undefined;
  return { wall, market: now === undefined ? wall : Math.min(wall, now + o.tfMs + o.toleranceMs) };
}

/** The problem of a bar closing at `close` after `limit` (wall or market), or undefined when it may have closed. */
export function futureProblem(close: number, limit: number, what: 'wall clock' | 'market clock'): CandleProblem | undefined {
  if (close <= limit) return undefined;
  return {
    fault: CandleFault.Future,
    detail: `closes at ${iso(close)}, after the ${what} allows (${iso(limit)})`,
    field: 'ts',
  };
}

/** An ISO time, or the number when it is beyond what a Date holds. */
const iso = (t: number) => (Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t));
