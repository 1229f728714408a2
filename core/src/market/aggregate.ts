import { barOpen, nextBarOpen, timeframeMs } from '../time/timeframe.js';
import type { OhlcvBar } from './types.js';

const HOUR_MS = 3_600_000;

/**
 * Whether bars of `from` roll up exactly into bars of `to`: every `from` bar must lie inside one
 * `to` bar. True for hour-or-shorter bars that divide an hour (1m, 5m, 15m, 30m, 1H…) into any
 * longer timeframe they divide, including the Hong Kong-anchored days and months, whose offsets
 * are whole hours.
 */
export function canAggregate(from: string, to: string): boolean {
  const fromMs = timeframeMs(from);
  const toMs = timeframeMs(to);
  if (!(fromMs < toMs) || fromMs > HOUR_MS || HOUR_MS % fromMs !== 0) return false;
  return /M/.test(to) || toMs % fromMs === 0;
}

/**
 * Rolls ascending bars of `baseMs` up into bars of `tf` (open of the first, extremes, close of the
 * last, summed volume). A bar at either edge that the data only partly covers is left out: it
 * would be a different bar from the venue's.
 */
export function aggregateBars(bars: readonly OhlcvBar[], baseMs: number, tf: string): OhlcvBar[] {
  const first = bars[0];
  const last = bars[bars.length - 1];
  if (!first || !last) return [];
  const out: OhlcvBar[] = [];
  let current: OhlcvBar | undefined;
  for (const b of bars) {
    const open = barOpen(b.ts, tf);
    if (current && current.ts === open) {
      current.high = Math.max(current.high, b.high);
      current.low = Math.min(current.low, b.low);
      current.close = b.close;
      current.volume += b.volume;
      continue;
    }
    if (current) out.push(current);
    current = { ts: open, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
  }
  if (current) out.push(current);
  if (out[0] && out[0].ts < first.ts) out.shift();
  const tail = out[out.length - 1];
  if (tail && nextBarOpen(tail.ts, tf) > last.ts + baseMs) out.pop();
  return out;
}
