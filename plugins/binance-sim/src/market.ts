import type { SimBar } from './data.js';

/** Binance kline intervals the simulator serves (fixed lengths, UTC-aligned). */
export const INTERVAL_MS: Readonly<Record<string, number>> = Object.freeze({
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
});

/** A kline as the venue keeps it (numbers; formatted at the edge). */
export interface Kline extends SimBar {
  closeTime: number;
  trades: number;
  closed: boolean;
}

/**
 * The replayed market: source bars and a cursor at the current (open) bar. Bars before the cursor
 * are history; the cursor's bar is forming (it shows its open until it closes); `advance()`
 * closes it and opens the next. Simulated now is the current bar's open time.
 */
export class MarketTape {
  readonly baseMs: number;
  #index: number;

  constructor(
    readonly bars: readonly SimBar[],
    startAt?: number,
  ) {
    if (bars.length < 2) throw new Error('binance-sim: at least two bars are needed');
    this.baseMs = (bars[1] as SimBar).ts - (bars[0] as SimBar).ts;
    const i = startAt === undefined ? 1 : bars.findIndex((b) => b.ts >= startAt);
    this.#index = Math.max(1, i < 0 ? bars.length - 1 : i);
  }

  get index(): number {
    return this.#index;
  }

  get ended(): boolean {
    return this.#index >= this.bars.length - 1;
  }

  /** Simulated now: the open of the forming bar. */
  now(): number {
    return (this.bars[this.#index] as SimBar).ts;
  }

  /** The last traded price: the forming bar's open. */
  price(): number {
    return (this.bars[this.#index] as SimBar).open;
  }

  /** Closes the forming bar and opens the next; returns the bar that closed (undefined at the end). */
  advance(): SimBar | undefined {
    if (this.ended) return undefined;
    const closed = this.bars[this.#index] as SimBar;
    this.#index++;
    return closed;
  }

  /** Whether an interval can be built from the source bars. */
  serves(interval: string): boolean {
    const ms = INTERVAL_MS[interval];
    return ms !== undefined && ms >= this.baseMs && ms % this.baseMs === 0;
  }

  /**
   * Klines of `interval` whose open lies in [startTime, endTime] (both inclusive), oldest first, at
   * most `limit`; without a start, the `limit` latest. The forming kline is the last one, with
   * what has traded in it so far (its open, for the forming source bar).
   */
  klines(interval: string, opts: { startTime?: number; endTime?: number; limit: number }): Kline[] {
    const ms = INTERVAL_MS[interval] as number;
    const nowOpen = Math.floor(this.now() / ms) * ms;
    const first = Math.floor((this.bars[0] as SimBar).ts / ms) * ms;
    const end = Math.min(opts.endTime ?? Number.POSITIVE_INFINITY, nowOpen);
    let start = Math.max(opts.startTime === undefined ? end - (opts.limit - 1) * ms : Math.ceil(opts.startTime / ms) * ms, first);
    if (opts.startTime === undefined) start = Math.max(start, first);
    const out: Kline[] = [];
    for (let t = start; t <= end && out.length < opts.limit; t += ms) {
      const k = this.kline(interval, t);
      if (k) out.push(k);
    }
    return out;
  }

  /** The kline of `interval` opening at `open` as of now; undefined when no source bar is in it. */
  kline(interval: string, open: number): Kline | undefined {
    const ms = INTERVAL_MS[interval] as number;
    const nowTs = this.now();
    const parts: SimBar[] = [];
    let forming = false;
    for (let i = this.#lowerBound(open); i < this.bars.length; i++) {
      const b = this.bars[i] as SimBar;
      if (b.ts >= open + ms || b.ts > nowTs) break;
      if (b.ts === nowTs) {
        forming = true;
        parts.push({ ts: b.ts, open: b.open, high: b.open, low: b.open, close: b.open, volume: 0 });
      } else parts.push(b);
    }
    const head = parts[0];
    if (!head) return undefined;
    const closed = !forming && open + ms <= nowTs;
    return {
      ts: open,
      open: head.open,
      high: Math.max(...parts.map((p) => p.high)),
      low: Math.min(...parts.map((p) => p.low)),
      close: (parts.at(-1) as SimBar).close,
      volume: parts.reduce((n, p) => n + p.volume, 0),
      closeTime: open + ms - 1,
      trades: parts.length * 10,
      closed,
    };
  }

  #lowerBound(ts: number): number {
    let lo = 0;
    let hi = this.bars.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.bars[mid] as SimBar).ts < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Plain decimal text, never an exponent (Binance sends strings like "67950.10"). */
export function dec(n: number, digits = 8): string {
  if (!Number.isFinite(n)) return '0';
  const s = n.toFixed(digits);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') || '0' : s;
}

/** The REST row: `[openTime, o, h, l, c, v, closeTime, quoteVolume, trades, takerBase, takerQuote, "0"]`. */
export function klineRow(k: Kline): unknown[] {
  const q = k.volume * ((k.open + k.close) / 2);
  return [
    k.ts,
    dec(k.open, 2),
    dec(k.high, 2),
    dec(k.low, 2),
    dec(k.close, 2),
    dec(k.volume, 3),
    k.closeTime,
    dec(q, 2),
    k.trades,
    dec(k.volume / 2, 3),
    dec(q / 2, 2),
    '0',
  ];
}

/** The stream payload of `<symbol>@kline_<interval>`. */
export function klineEvent(symbol: string, interval: string, k: Kline, eventTime: number): Record<string, unknown> {
  const q = k.volume * ((k.open + k.close) / 2);
  return {
    e: 'kline',
    E: eventTime,
    s: symbol,
    k: {
      t: k.ts,
      T: k.closeTime,
      s: symbol,
      i: interval,
      f: k.ts,
      L: k.ts + k.trades,
      o: dec(k.open, 2),
      c: dec(k.close, 2),
      h: dec(k.high, 2),
      l: dec(k.low, 2),
      v: dec(k.volume, 3),
      n: k.trades,
      x: k.closed,
      q: dec(q, 2),
      V: dec(k.volume / 2, 3),
      Q: dec(q / 2, 2),
      B: '0',
    },
  };
}
