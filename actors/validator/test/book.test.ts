import { describe, expect, it } from 'vitest';
import { fetchRanges, SeriesBook } from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const at = (n: number) => T0 + n * MIN;
const book = (windowBars = 1000) => new SeriesBook({ venue: 'okx', inst: 'BTC-USDT', tf: '1m' }, windowBars * MIN);
const bar = (n: number, close = 10) => ({ venue: 'okx', inst: 'BTC-USDT', tf: '1m', ts: at(n), open: 10, high: 12, low: 9, close, volume: 1, confirmed: true });

describe('series book', () => {
  it('takes bars in order without finding anything', () => {
    const b = book();
    for (let i = 0; i < 5; i++) expect(b.admit(at(i), bar(i))).toEqual({ kind: 'new', missing: [] });
    expect(b.counts).toMatchObject({ gapsFound: 0, filled: 0, duplicates: 0, outOfOrder: 0 });
    expect([b.earliest, b.latest, b.size]).toEqual([at(0), at(4), 5]);
  });

  it('finds the bars a jump skipped and counts them filled when they arrive late', () => {
    const b = book();
    b.admit(at(0), bar(0));
    expect(b.admit(at(4), bar(4))).toEqual({ kind: 'new', missing: [at(1), at(2), at(3)] });
    expect(b.admit(at(2), bar(2))).toEqual({ kind: 'filled' });
    expect(b.pending()).toEqual([at(1), at(3)]);
    expect(b.counts).toMatchObject({ gapsFound: 3, filled: 1, outOfOrder: 1 });
  });

  it('keeps the first copy of a bar: a repeat is nothing to do, a copy with other prices a conflict', () => {
    const b = book();
    expect(b.admit(at(0), bar(0))).toEqual({ kind: 'new', missing: [] });
    b.stored(at(0), 5);
    expect(b.admit(at(0), { ...bar(0), receivedAt: 3 })).toEqual({ kind: 'repeat' });
    expect(b.admit(at(0), bar(0, 11))).toEqual({ kind: 'conflict' });
    expect(b.counts.duplicates).toBe(2);
    // A scan finding the stored copy again is not a duplicate; a second stored copy is deleted.
    expect(b.recordStored(at(0), 5)).toBeUndefined();
    expect(b.recordStored(at(0), 9)).toBe(9);
    expect(b.recordStored(at(0), 2)).toBe(5);
  });

  it('forgets an admission whose publish failed, so the redelivered copy is accepted again', () => {
    const b = book();
    b.admit(at(0), bar(0));
    b.stored(at(0), 1);
    b.admit(at(1), bar(1));
    b.forget(at(1));
    expect(b.admit(at(1), bar(1)).kind).toBe('late');
    // A bar already stored in MD_CANDLES is never forgotten.
    b.forget(at(0));
    expect(b.admit(at(0), bar(0))).toEqual({ kind: 'repeat' });
  });

  it('never tracks a gap longer than the window', () => {
    const b = book(10);
    b.admit(at(0), bar(0));
    const seen = b.admit(at(100), bar(100));
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
    b.admit(at(0), bar(0));
    b.admit(at(4), bar(4));
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
