import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadCandles, MarketTape, parseCandleCsv, pricePath, syntheticCandles } from '../src/index.js';

const START = Date.UTC(2025, 5, 1); // 2025-06-01T00:00Z

describe('MarketTape aggregation', () => {
  const data = syntheticCandles({ count: 2 * 1440, start: START, seed: 7 });
  const tape = new MarketTape(data);

  it('detects 1m slots and builds 1H bars that roll up the minutes exactly', () => {
    expect(tape.baseMs).toBe(60_000);
    const hours = tape.series('1H');
    expect(hours).toHaveLength(48);
    const first = hours[0];
    const minutes = data.slice(0, 60);
    expect(first?.ts).toBe(START);
    expect(first?.open).toBe(minutes[0]?.open);
    expect(first?.close).toBe(minutes[59]?.close);
    expect(first?.high).toBe(Math.max(...minutes.map((m) => m.high)));
    expect(first?.low).toBe(Math.min(...minutes.map((m) => m.low)));
    expect(first?.volume).toBeCloseTo(
      minutes.reduce((s, m) => s + m.volume, 0),
      9,
    );
  });

  it('opens non-utc bars of 6H and longer on UTC+8 boundaries and utc bars on UTC ones', () => {
    expect(tape.series('1D')[0]?.ts).toBe(Date.UTC(2025, 4, 31, 16)); // 00:00 HKT = 16:00 UTC the day before
    expect(tape.series('1D')[1]?.ts).toBe(Date.UTC(2025, 5, 1, 16));
    expect(tape.series('1Dutc')[0]?.ts).toBe(START);
    expect(tape.series('6H')[0]?.ts).toBe(Date.UTC(2025, 4, 31, 22));
    expect(tape.series('6Hutc')[0]?.ts).toBe(START);
    expect(tape.series('4H')[0]?.ts).toBe(START);
    // The first 1D bar holds only the 8 hours of data after the start: 16:00 → 00:00 UTC had no data.
    expect(tape.series('1D')[0]?.open).toBe(data[0]?.open);
  });

  it('refuses bars shorter than its slots', () => {
    expect(tape.supports('1s')).toBe(false);
    expect(tape.supports('1m')).toBe(true);
    expect(tape.supports('1Mutc')).toBe(true);
  });

  it('fills missing minutes with flat zero-volume bars at the previous close (OKX: no trades)', () => {
    const holes = data.slice(0, 10).filter((_, i) => i !== 3 && i !== 4);
    const filled = new MarketTape(holes);
    expect(filled.length).toBe(10);
    const prevClose = data[2]?.close;
    for (const i of [3, 4]) {
      expect(filled.bar(i)).toEqual({
        ts: START + i * 60_000,
        open: prevClose,
        high: prevClose,
        low: prevClose,
        close: prevClose,
        volume: 0,
      });
    }
  });

  it('walks a rising bar open → low → high → close and a falling one open → high → low → close', () => {
    expect(pricePath({ ts: 0, open: 10, high: 12, low: 9, close: 11, volume: 1 }, 4)).toEqual([10, 9, 12, 11]);
    expect(pricePath({ ts: 0, open: 11, high: 12, low: 9, close: 10, volume: 1 }, 4)).toEqual([11, 12, 9, 10]);
  });
});

describe('candle data sources', () => {
  it('parses CSV and gzipped CSV files with the shared data header', async () => {
    const csv = 'ts,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n61000,1.5,1.6,1.4,1.45,3\n';
    expect(parseCandleCsv(csv)).toEqual([
      { ts: 1000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
      { ts: 61000, open: 1.5, high: 1.6, low: 1.4, close: 1.45, volume: 3 },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'okx-sim-'));
    const file = join(dir, 'c.csv.gz');
    writeFileSync(file, gzipSync(csv));
    expect(await loadCandles(file)).toHaveLength(2);
  });

  it('rejects a file without the expected header', () => {
    expect(() => parseCandleCsv('a,b\n1,2\n')).toThrow(/header/);
  });

  it('generates the same synthetic series for the same seed', () => {
    expect(syntheticCandles({ count: 5, seed: 3 })).toEqual(syntheticCandles({ count: 5, seed: 3 }));
    const bars = syntheticCandles({ count: 500, seed: 9 });
    for (const b of bars) expect(b.high >= Math.max(b.open, b.close) && b.low <= Math.min(b.open, b.close)).toBe(true);
  });
});
