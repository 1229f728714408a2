import { barOpen, nextBarOpen, timeframeMs } from '@kokex/core';
import { fillMissingBars } from '@kokex/plugin-candles';
import { SimError, SimErrorCode } from '../errors.js';
import type { SimCandle } from './data-source.js';

/** An aggregated bar, with the quote volume OKX reports beside base volume. */
export interface AggBar extends SimCandle {
  volumeQuote: number;
}

/**
 * The source series, normalised: sorted, de-duplicated, and with every missing slot filled by a
 * flat bar at the previous close with zero volume (what OKX reports for a period without
 * trades). Because slots are contiguous, a bar's index is arithmetic on its ts.
 */
export class MarketTape {
  readonly bars: SimCandle[];
  readonly baseMs: number;
  readonly start: number;
  /** Close time of the last bar. */
  readonly end: number;
  private readonly quoteVolumes: number[];
  private readonly seriesCache = new Map<string, AggBar[]>();

  constructor(candles: readonly SimCandle[], baseMs?: number) {
    const sorted = [...candles].sort((a, b) => a.ts - b.ts);
    if (sorted.length === 0) throw new SimError(SimErrorCode.Data, 'candle data is empty');
    this.baseMs = baseMs ?? detectBaseMs(sorted);
    this.bars = fillMissingBars(sorted, this.baseMs);
    this.start = (this.bars[0] as SimCandle).ts;
    this.end = (this.bars[this.bars.length - 1] as SimCandle).ts + this.baseMs;
    // Source files carry base volume only; quote volume is estimated from the bar's typical price.
    this.quoteVolumes = this.bars.map((b) => (b.volume * (b.open + b.high + b.low + b.close)) / 4);
  }

  get length(): number {
    return this.bars.length;
  }

  bar(index: number): SimCandle {
    const b = this.bars[index];
    if (!b) throw new SimError(SimErrorCode.State, `tape index ${index} out of range`, { index });
    return b;
  }

  /** Index of the slot containing `ts`, clamped to [0, length]. */
  indexAt(ts: number): number {
    return Math.max(0, Math.min(this.bars.length, Math.floor((ts - this.start) / this.baseMs)));
  }

  /** Whether bars of `tf` can be built from this tape's slots. */
  supports(tf: string): boolean {
    const len = timeframeMs(tf);
    if (len < this.baseMs) return false;
    const open = barOpen(this.start, tf);
    return (open - this.start) % this.baseMs === 0 && (len % this.baseMs === 0 || /M/.test(tf));
  }

  /** Aggregate of slots [from, to) plus an optional partial slot after them. */
  aggregate(ts: number, from: number, to: number, partial?: AggBar): AggBar | undefined {
    let agg: AggBar | undefined;
    for (let i = from; i < to; i++) {
      const b = this.bars[i] as SimCandle;
      agg = merge(agg, {
        ts,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        volumeQuote: this.quoteVolumes[i] as number,
      });
    }
    if (partial) agg = merge(agg, { ...partial, ts });
    return agg;
  }

  /** Every bar of `tf` the tape covers, ascending (the last one may be incomplete). Cached. */
  series(tf: string): AggBar[] {
    const cached = this.seriesCache.get(tf);
    if (cached) return cached;
    const out: AggBar[] = [];
    let i = 0;
    while (i < this.bars.length) {
      const open = barOpen((this.bars[i] as SimCandle).ts, tf);
      const to = Math.min(this.bars.length, this.indexAt(nextBarOpen(open, tf)));
      const agg = this.aggregate(open, i, Math.max(to, i + 1));
      if (agg) out.push(agg);
      i = Math.max(to, i + 1);
    }
    this.seriesCache.set(tf, out);
    return out;
  }

  /** Partial state of slot `index` after step `k` of `steps` (open → extreme → extreme → close). */
  partialSlot(index: number, k: number, steps: number): AggBar {
    const b = this.bar(index);
    const path = pricePath(b, steps);
    const seen = path.slice(0, k + 1);
    return {
      ts: b.ts,
      open: b.open,
      high: Math.max(...seen),
      low: Math.min(...seen),
      close: seen[seen.length - 1] as number,
      volume: (b.volume * (k + 1)) / steps,
      volumeQuote: ((this.quoteVolumes[index] as number) * (k + 1)) / steps,
    };
  }
}

/**
 * The prices a slot passes through in `steps` steps: a rising bar visits its low before its high,
 * a falling bar its high before its low, and the last step is always the close.
 */
export function pricePath(b: SimCandle, steps: number): number[] {
  const key = b.close >= b.open ? [b.open, b.low, b.high, b.close] : [b.open, b.high, b.low, b.close];
  if (steps <= 1) return [b.close];
  const out: number[] = [];
  for (let k = 0; k < steps; k++) {
    const pos = (k * (key.length - 1)) / (steps - 1);
    out.push(key[Math.round(pos)] as number);
  }
  out[steps - 1] = b.close;
  return out;
}

function merge(agg: AggBar | undefined, b: AggBar): AggBar {
  if (!agg) return { ...b };
  agg.high = Math.max(agg.high, b.high);
  agg.low = Math.min(agg.low, b.low);
  agg.close = b.close;
  agg.volume += b.volume;
  agg.volumeQuote += b.volumeQuote;
  return agg;
}

/** The most common positive spacing among the first bars. */
function detectBaseMs(sorted: SimCandle[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < Math.min(sorted.length, 2_000); i++) {
    const d = (sorted[i] as SimCandle).ts - (sorted[i - 1] as SimCandle).ts;
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 60_000;
  let bestCount = 0;
  for (const [d, n] of counts) if (n > bestCount || (n === bestCount && d < best)) [best, bestCount] = [d, n];
  return best;
}
