import { barOpen, nextBarOpen, timeframeMs } from '@kokex/core';
import { type SeriesKey, seriesId } from '@kokex/plugin-candles';

/** What one stored candle meant to its series. */
export type Observation =
  /** Newer than every bar seen (possibly opening a gap: see `missing`). */
  | { kind: 'new'; missing: number[] }
  /** A bar that was missing. */
  | { kind: 'filled' }
  /** Older than the newest, not known missing: a late bar the validator had not tracked. */
  | { kind: 'late' }
  /** A second stored copy of a bar: `drop` is the stream sequence to delete (the later one). */
  | { kind: 'duplicate'; keep: number; drop: number }
  /** The message already recorded (a redelivery, or a replay after a restart). */
  | { kind: 'same' };

export interface BookCounts {
  gapsFound: number;
  filled: number;
  backfilled: number;
  rejected: number;
  duplicates: number;
  outOfOrder: number;
}

/**
 * One series as the validator knows it: which bar opens are stored (with their stream sequence),
 * which are missing against the bar grid, which were quarantined. Time here is the series' own
 * (bar opens the venue produced), never a clock. Pure: no I/O, so the rules are tested alone.
 */
export class SeriesBook {
  readonly id: string;
  readonly tfMs: number;
  readonly counts: BookCounts = { gapsFound: 0, filled: 0, backfilled: 0, rejected: 0, duplicates: 0, outOfOrder: 0 };
  #bars = new Map<number, number>();
  #missing = new Set<number>();
  /** Missing bars the venue did not return when asked; the live path stops asking, scans ask again. */
  #unfillable = new Set<number>();
  #quarantined = new Set<number>();
  #latest: number | undefined;
  #earliest: number | undefined;

  constructor(
    readonly key: SeriesKey,
    /** Bars further back than this from the newest are forgotten, and a gap never tracks more. */
    public windowMs: number,
  ) {
    this.id = seriesId(key);
    this.tfMs = timeframeMs(key.tf);
  }

  get latest(): number | undefined {
    return this.#latest;
  }

  /** The oldest stored bar still remembered. */
  get earliest(): number | undefined {
    return this.#earliest;
  }

  get size(): number {
    return this.#bars.size;
  }

  has(ts: number): boolean {
    return this.#bars.has(ts);
  }

  isMissing(ts: number): boolean {
    return this.#missing.has(ts);
  }

  /** Missing bars worth asking the venue for, ascending. */
  pending(): number[] {
    return [...this.#missing].filter((ts) => !this.#unfillable.has(ts)).sort((a, b) => a - b);
  }

  missingCount(): number {
    return this.#missing.size;
  }

  unfillableCount(): number {
    return this.#unfillable.size;
  }

  /** Records a stored bar (its open and stream sequence) and says what it meant. */
  observe(ts: number, seq: number): Observation {
    const stored = this.#bars.get(ts);
    if (stored === seq) return { kind: 'same' };
    if (stored !== undefined) {
      this.counts.duplicates++;
      // The first stored copy stays: it is the one every earlier reader saw.
      if (seq < stored) {
        this.#bars.set(ts, seq);
        return { kind: 'duplicate', keep: seq, drop: stored };
      }
      return { kind: 'duplicate', keep: stored, drop: seq };
    }
    this.#store(ts, seq);
    if (this.#missing.delete(ts)) {
      this.#unfillable.delete(ts);
      this.counts.filled++;
      // A hole behind the newest bar arrives out of order; a tail bar a scan asked for moves the newest on.
      if (this.#latest === undefined || ts > this.#latest) this.#latest = ts;
      else this.counts.outOfOrder++;
      return { kind: 'filled' };
    }
    if (this.#latest === undefined || ts > this.#latest) {
      const missing = this.#latest === undefined ? [] : this.#markMissing(this.#latest, ts);
      this.#latest = ts;
      return { kind: 'new', missing };
    }
    this.counts.outOfOrder++;
    return { kind: 'late' };
  }

  /**
   * Records a bar a scan found stored, without the live path's ordering rules (a scan reads in
   * stream order, which after backfills is not time order). Returns the sequence to delete when it
   * is a second copy.
   */
  recordStored(ts: number, seq: number): number | undefined {
    const stored = this.#bars.get(ts);
    if (stored === seq) return undefined;
    if (stored !== undefined) {
      this.counts.duplicates++;
      if (seq > stored) return seq;
      this.#bars.set(ts, seq);
      return stored;
    }
    this.#store(ts, seq);
    if (this.#missing.delete(ts)) {
      this.#unfillable.delete(ts);
      this.counts.filled++;
    }
    if (this.#latest === undefined || ts > this.#latest) this.#latest = ts;
    return undefined;
  }

  /** Marks the grid slots in [from, to) that are neither stored nor quarantined as missing; returns them. */
  expect(from: number, to: number): number[] {
    const found: number[] = [];
    for (let ts = barOpen(from, this.key.tf); ts < to; ts = nextBarOpen(ts, this.key.tf)) {
      if (this.#bars.has(ts) || this.#quarantined.has(ts) || this.#missing.has(ts)) continue;
      this.#missing.add(ts);
      found.push(ts);
    }
    this.counts.gapsFound += found.length;
    return found;
  }

  quarantine(ts: number | undefined): void {
    this.counts.rejected++;
    if (ts === undefined) return;
    this.#quarantined.add(ts);
    this.#missing.delete(ts);
    this.#unfillable.delete(ts);
  }

  markUnfillable(slots: Iterable<number>): void {
    for (const ts of slots) if (this.#missing.has(ts)) this.#unfillable.add(ts);
  }

  /** Lets the next scan ask the venue again for bars it did not have. */
  retryUnfillable(): void {
    this.#unfillable.clear();
  }

  /** Forgets everything opening before `ts` (bounded memory over a long run). */
  forgetBefore(ts: number): void {
    let earliest: number | undefined;
    for (const t of this.#bars.keys()) {
      if (t < ts) this.#bars.delete(t);
      else if (earliest === undefined || t < earliest) earliest = t;
    }
    this.#earliest = earliest;
    for (const set of [this.#missing, this.#unfillable, this.#quarantined]) for (const t of set) if (t < ts) set.delete(t);
  }

  /** Stored bars with open in [from, to]. */
  storedBetween(from: number, to: number): number {
    let n = 0;
    for (const t of this.#bars.keys()) if (t >= from && t <= to) n++;
    return n;
  }

  #store(ts: number, seq: number): void {
    this.#bars.set(ts, seq);
    if (this.#earliest === undefined || ts < this.#earliest) this.#earliest = ts;
  }

  /** Gap slots between the newest bar and a newer one, capped at the window (older ones are out of scope anyway). */
  #markMissing(latest: number, ts: number): number[] {
    return this.expect(Math.max(nextBarOpen(latest, this.key.tf), ts - this.windowMs), ts);
  }
}
