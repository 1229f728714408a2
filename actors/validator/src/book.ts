import { barOpen, nextBarOpen, type SeriesKey, seriesId, timeframeMs } from '@kokex/core';

/** What one checked bar meant to its series. The first three are accepted: the validator publishes them. */
export type Observation =
  /** Newer than every bar seen (possibly opening a gap: see `missing`). */
  | { kind: 'new'; missing: number[] }
  /** A bar that was missing. */
  | { kind: 'filled' }
  /** Older than the newest, not known missing: a late bar the validator had not tracked. */
  | { kind: 'late' }
  /** The bar again, saying the same (a feed's catch-up overlapping its pushes, a redelivery): nothing to do. */
  | { kind: 'repeat' }
  /** The bar again with other prices or volume: the first copy stays, this one is reported, never published. */
  | { kind: 'conflict' };

/** What two copies of a bar must agree on. */
function fingerprint(bar: unknown): string {
  const b = (bar ?? {}) as Record<string, unknown>;
  return JSON.stringify([b.open, b.high, b.low, b.close, b.volume, b.volumeQuote ?? null, b.confirmed]);
}

interface Entry {
  /** What the bar said (its fingerprint). */
  bar: string;
  /** Its sequence in MD_CANDLES once stored there. */
  seq: number | undefined;
}

export interface BookCounts {
  gapsFound: number;
  filled: number;
  backfilled: number;
  rejected: number;
  duplicates: number;
  outOfOrder: number;
}

/**
 * One series as the validator knows it: which bar opens it accepted (what each said, and its
 * sequence in MD_CANDLES), which are missing against the bar grid, which were quarantined. Time
 * here is the series' own (bar opens the venue produced), never a clock. Pure: no I/O, so the
 * rules are tested alone.
 */
export class SeriesBook {
  readonly id: string;
  readonly tfMs: number;
  readonly counts: BookCounts = { gapsFound: 0, filled: 0, backfilled: 0, rejected: 0, duplicates: 0, outOfOrder: 0 };
  /**
   * Bars refused for closing in the future (`future.ts`): raw ones quarantined, stored ones deleted
   * from MD_CANDLES (both also counted `rejected`), stored ones ahead of a replay's clock skipped.
   */
  readonly future = { raw: 0, deleted: 0, skipped: 0 };
  #bars = new Map<number, Entry>();
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

  /**
   * Takes a checked bar (raw or from the venue) and says what it meant. An accepted bar is
   * recorded at once, before it is published, so a second copy handled meanwhile is a repeat; a
   * publish that fails calls `forget` so the redelivered copy is accepted again.
   */
  admit(ts: number, bar: unknown): Observation {
    const seen = this.#bars.get(ts);
    if (seen) {
      this.counts.duplicates++;
      // The first copy stays: it is the one every reader of MD_CANDLES saw.
      return seen.bar === fingerprint(bar) ? { kind: 'repeat' } : { kind: 'conflict' };
    }
    this.#store(ts, { bar: fingerprint(bar), seq: undefined });
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

  /** The accepted bar is stored in MD_CANDLES at `seq`. */
  stored(ts: number, seq: number): void {
    const entry = this.#bars.get(ts);
    if (entry) entry.seq = seq;
  }

  /** Undoes an admission whose publish failed: the slot is open again (a scan finds it missing if no copy comes). */
  forget(ts: number): void {
    const entry = this.#bars.get(ts);
    if (entry && entry.seq === undefined) this.#bars.delete(ts);
  }

  /**
   * Records a bar a scan found stored, without the live path's ordering rules (a scan reads in
   * stream order, which after backfills is not time order). Returns the sequence to delete when it
   * is a second copy.
   */
  recordStored(ts: number, seq: number, bar?: unknown): number | undefined {
    const entry = this.#bars.get(ts);
    if (entry?.seq === seq) return undefined;
    if (entry !== undefined) {
      if (entry.seq === undefined) {
        // Accepted and being published: this is that copy.
        entry.seq = seq;
        return undefined;
      }
      this.counts.duplicates++;
      if (seq > entry.seq) return seq;
      const drop = entry.seq;
      entry.seq = seq;
      return drop;
    }
    this.#store(ts, { bar: fingerprint(bar), seq });
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

  #store(ts: number, entry: Entry): void {
    this.#bars.set(ts, entry);
    if (this.#earliest === undefined || ts < this.#earliest) this.#earliest = ts;
  }

  /** Gap slots between the newest bar and a newer one, capped at the window (older ones are out of scope anyway). */
  #markMissing(latest: number, ts: number): number[] {
    return this.expect(Math.max(nextBarOpen(latest, this.key.tf), ts - this.windowMs), ts);
  }
}
