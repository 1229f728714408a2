import { describe, expect, it } from 'vitest';
import { fetchRanges, SeriesBook } from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const at = (n: number) => T0 + n * MIN;
const book = (windowBars = 1000) => new SeriesBook({ venue: 'okx', inst: 'BTC-USDT', tf: '1m' }, windowBars * MIN);

describe('series book', () => {
  it('takes bars in order without finding anything', () => {
    const b = book();
    for (let i = 0; i < 5; i++) expect(b.observe(at(i), i + 1)).toEqual({ kind: 'new', missing: [] });
    expect(b.counts).toMatchObject({ gapsFound: 0, filled: 0, duplicates: 0, outOfOrder: 0 });
    expect([b.earliest, b.latest, b.size]).toEqual([at(0), at(4), 5]);
  });

  it('finds the bars a jump skipped and counts them filled when they arrive late', () => {
    const b = book();
    b.observe(at(0), 1);
    expect(b.observe(at(4), 2)).toEqual({ kind: 'new', missing: [at(1), at(2), at(3)] });
    expect(b.observe(at(2), 3)).toEqual({ kind: 'filled' });
    expect(b.pending()).toEqual([at(1), at(3)]);
    expect(b.counts).toMatchObject({ gapsFound: 3, filled: 1, outOfOrder: 1 });
  });

  it('keeps the first stored copy of a bar and names the later one to delete', () => {
    const b = book();
    b.observe(at(0), 5);
    expect(b.observe(at(0), 5)).toEqual({ kind: 'same' });
    expect(b.observe(at(0), 9)).toEqual({ kind: 'duplicate', keep: 5, drop: 9 });
    expect(b.observe(at(0), 2)).toEqual({ kind: 'duplicate', keep: 2, drop: 5 });
    expect(b.counts.duplicates).toBe(2);
  });

  it('never tracks a gap longer than the window', () => {
    const b = book(10);
    b.observe(at(0), 1);
    const seen = b.observe(at(100), 2);
    expect(seen.kind === 'new' && seen.missing).toEqual(Array.from({ length: 10 }, (_, i) => at(90 + i)));
  });

  it('reads a scan in stream order without calling backfilled bars out of order', () => {
    const b = book();
    expect(b.recordStored(at(5), 1)).toBeUndefined();
    expect(b.recordStored(at(1), 2)).toBeUndefined();
    expect(b.recordStored(at(1), 3)).toBe(3);
    expect(b.counts).toMatchObject({ outOfOrder: 0, duplicates: 1 });
    expect(b.expect(at(0), at(6))).toEqual([at(0), at(2), at(3), at(4)]);
  });

  it('stops counting a quarantined bar as missing, and lets scans retry bars the venue lacked', () => {
    const b = book();
    b.observe(at(0), 1);
    b.observe(at(4), 2);
    b.quarantine(at(1));
    b.markUnfillable([at(2)]);
    expect(b.pending()).toEqual([at(3)]);
    expect([b.missingCount(), b.unfillableCount(), b.counts.rejected]).toEqual([2, 1, 1]);
    b.retryUnfillable();
    expect(b.pending()).toEqual([at(2), at(3)]);
    b.forgetBefore(at(3));
    expect([b.pending(), b.earliest, b.size]).toEqual([[at(3)], at(4), 1]);
  });

  it('fetches nearby holes in one range and distant ones apart', () => {
    expect(fetchRanges([at(1), at(2), at(5), at(900)], '1m', MIN)).toEqual([
      { from: at(1), to: at(6) },
      { from: at(900), to: at(901) },
    ]);
  });
});
