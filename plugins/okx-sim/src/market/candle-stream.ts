import { barOpen } from '@kokex/core';
import type { CandleStepRows, ReplayCursor } from './replay.js';
import type { AggBar } from './tape.js';

/**
 * One candle channel (instrument × bar) as the replay moves: after each step it yields the row
 * of a bar that just closed (confirm=1, exactly once) and the forming bar's update (confirm=0).
 */
export class CandleStream {
  private lastOpen: number | undefined;
  private finished = false;

  constructor(
    readonly tf: string,
    private readonly cursor: ReplayCursor,
  ) {}

  /** The forming bar right now (pushed to a new subscriber); starts tracking if not yet. */
  current(): AggBar | undefined {
    if (this.cursor.ended) return undefined;
    this.lastOpen ??= barOpen(this.cursor.now(), this.tf);
    return this.cursor.formingBar(this.tf);
  }

  /** Rows to push after the cursor advanced one step. */
  afterStep(): CandleStepRows {
    if (this.finished) return { closed: undefined, forming: undefined };
    if (this.cursor.ended) {
      this.finished = true;
      const closed = this.lastOpen === undefined ? undefined : this.cursor.closedBar(this.tf, this.lastOpen);
      return { closed, forming: undefined };
    }
    const open = barOpen(this.cursor.now(), this.tf);
    const closed = this.lastOpen !== undefined && open !== this.lastOpen ? this.cursor.closedBar(this.tf, this.lastOpen) : undefined;
    this.lastOpen = open;
    return { closed, forming: this.cursor.formingBar(this.tf) };
  }
}

/** Number → OKX string without float noise (`0.1+0.2` → "0.3"). */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '0';
  return String(Number(n.toFixed(8)));
}

/** A 9-column OKX candle row; derivatives report contracts in `vol` and base in `volCcy`. */
export function candleRow(bar: AggBar, confirmed: boolean, contractValue: number | undefined): string[] {
  const vol = contractValue ? bar.volume / contractValue : bar.volume;
  const volCcy = contractValue ? bar.volume : bar.volumeQuote;
  return [
    String(bar.ts),
    fmt(bar.open),
    fmt(bar.high),
    fmt(bar.low),
    fmt(bar.close),
    fmt(vol),
    fmt(volCcy),
    fmt(bar.volumeQuote),
    confirmed ? '1' : '0',
  ];
}
