import { isTerminalOrderState } from '../common/enums.js';
import type { OkxOrder } from '../types.js';

/**
 * OKX's documented de-duplication of `orders` pushes (the same update may arrive twice):
 * a fill once per (instId, tradeId); the first terminal state per ordId; the first answer per
 * amend reqId. A repeated `live` with nothing filled is dropped too. Memory is bounded: the
 * oldest keys are forgotten first.
 */
export class OrderPushDeduper {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 20_000) {}

  /** True when the update is new and should be delivered. */
  accept(order: OkxOrder): boolean {
    const key = this.keyOf(order);
    if (key === undefined) return true;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  private keyOf(order: OkxOrder): string | undefined {
    if (order.fill) return `t:${order.instId}:${order.fill.tradeId}`;
    if (order.reqId) return `r:${order.reqId}`;
    if (isTerminalOrderState(order.state)) return `s:${order.ordId}:terminal`;
    if (order.state === 'live' && order.filledSize === 0) return `s:${order.ordId}:live`;
    return undefined;
  }
}

/** Per (instId, bar): what confirmed candles have been seen, to count duplicates, reordering and gaps. */
export class CandleSequenceTracker {
  private readonly lastTs = new Map<string, number>();
  private readonly seen = new Map<string, Set<number>>();

  constructor(private readonly window = 4_096) {}

  /** Classifies one confirmed candle against those seen before on the same stream. */
  observe(stream: string, ts: number, barMs: number): 'new' | 'duplicate' | 'out-of-order' | 'gap' {
    let seen = this.seen.get(stream);
    if (!seen) {
      seen = new Set();
      this.seen.set(stream, seen);
    }
    if (seen.has(ts)) return 'duplicate';
    seen.add(ts);
    if (seen.size > this.window) {
      const oldest = seen.values().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    const last = this.lastTs.get(stream);
    if (last !== undefined && ts < last) return 'out-of-order';
    this.lastTs.set(stream, ts);
    // Month bars vary in length; anything within 1.5 nominal bars counts as adjacent.
    if (last !== undefined && ts - last > barMs * 1.5) return 'gap';
    return 'new';
  }
}
