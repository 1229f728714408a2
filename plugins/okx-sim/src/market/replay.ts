import { barOpen, nextBarOpen } from '@kokex/core';
import { firstAtOrAfter } from '@kokex/plugin-candles';
import type { AggBar, MarketTape } from './tape.js';
import { pricePath } from './tape.js';

/** A candle channel's rows for one step: a closing row (confirm=1) when a bar just closed, then the forming row. */
export interface CandleStepRows {
  closed: AggBar | undefined;
  forming: AggBar | undefined;
}

/**
 * Where the replay stands: slot `index`, step `sub` of `stepsPerBar` inside it. Simulated time is
 * the slot's open plus `sub` fractions of a slot; past the last slot it is the tape's end. Nothing
 * here uses a real timer: `advance()` is the only way time moves.
 */
export class ReplayCursor {
  index: number;
  sub = 0;
  private readonly formingCache = new Map<string, { open: number; upTo: number; agg: AggBar | undefined }>();

  constructor(
    readonly tape: MarketTape,
    readonly stepsPerBar: number,
    startAt?: number,
  ) {
    this.index = startAt === undefined ? 0 : tape.indexAt(Math.max(startAt, tape.start));
  }

  get ended(): boolean {
    return this.index >= this.tape.length;
  }

  /** Simulated now (ms). */
  now(): number {
    if (this.ended) return this.tape.end;
    return this.tape.bar(this.index).ts + Math.floor((this.sub * this.tape.baseMs) / this.stepsPerBar);
  }

  /** The last traded price: where the current slot's path stands (the final close once ended). */
  price(): number {
    if (this.ended) return this.tape.bar(this.tape.length - 1).close;
    return pricePath(this.tape.bar(this.index), this.stepsPerBar)[this.sub] as number;
  }

  /** One step; returns false when the tape is exhausted. */
  advance(): boolean {
    if (this.ended) return false;
    this.sub++;
    if (this.sub >= this.stepsPerBar) {
      this.sub = 0;
      this.index++;
    }
    return true;
  }

  /** The bar of `tf` containing now, built from finished slots and the current partial slot. */
  formingBar(tf: string): AggBar | undefined {
    if (this.ended) return undefined;
    const now = this.now();
    const open = barOpen(now, tf);
    const from = this.tape.indexAt(Math.max(open, this.tape.start));
    let cached = this.formingCache.get(tf);
    if (!cached || cached.open !== open || cached.upTo > this.index) {
      cached = { open, upTo: from, agg: undefined };
      this.formingCache.set(tf, cached);
    }
    // Finished slots are folded in once; only the partial slot is recomputed per step.
    if (cached.upTo < this.index) {
      const add = this.tape.aggregate(open, cached.upTo, this.index);
      cached.agg = cached.agg && add ? mergeCopy(cached.agg, add) : (cached.agg ?? add);
      cached.upTo = this.index;
    }
    const partial = this.tape.partialSlot(this.index, this.sub, this.stepsPerBar);
    return cached.agg ? mergeCopy(cached.agg, { ...partial, ts: open }) : { ...partial, ts: open };
  }

  /**
   * How many bars of `tape.series(tf)` are closed as of now (optionally only those closed `lagMs`
   * ago or earlier): they are the first ones, since the series is ascending.
   */
  closedCount(tf: string, lagMs = 0): number {
    const series = this.tape.series(tf);
    const cutoff = this.now() - lagMs;
    let hi = series.length;
    // Binary search for the first bar that is not closed by `cutoff`.
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (nextBarOpen((series[mid] as AggBar).ts, tf) <= cutoff) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The closed bar of `tf` that opened at `open`, if the tape has it and it is closed. */
  closedBar(tf: string, open: number): AggBar | undefined {
    if (nextBarOpen(open, tf) > this.now()) return undefined;
    const series = this.tape.series(tf);
    const bar = series[firstAtOrAfter(series, open)];
    return bar && bar.ts === open ? bar : undefined;
  }
}

function mergeCopy(a: AggBar, b: AggBar): AggBar {
  return {
    ts: a.ts,
    open: a.open,
    high: Math.max(a.high, b.high),
    low: Math.min(a.low, b.low),
    close: b.close,
    volume: a.volume + b.volume,
    volumeQuote: a.volumeQuote + b.volumeQuote,
  };
}
