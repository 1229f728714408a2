import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Candle, candleProblems } from '@kokex/core';
import type { OhlcvBar } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import {
  bundledBars,
  bundledServes,
  chooseSeriesFiles,
  fillMissingBars,
  listDataFiles,
  loadBundledSeries,
  loadDirectorySeries,
  MarketDataErrorCode,
  openCandleSource,
  parseCandleCsv,
  readCandleFile,
} from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const minutes = (count: number, from = T0): OhlcvBar[] =>
  Array.from({ length: count }, (_, i) => ({ ts: from + i * MIN, open: 100 + i, high: 101 + i, low: 99 + i, close: 100.5 + i, volume: 1 }));
const toCsv = (bars: OhlcvBar[]) =>
  ['ts,open,high,low,close,volume', ...bars.map((b) => [b.ts, b.open, b.high, b.low, b.close, b.volume].join(','))].join('\n');

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'kokex-data-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), name.endsWith('.gz') ? gzipSync(text) : text);
  return d;
}

async function all(history: AsyncIterable<Candle[]>): Promise<Candle[][]> {
  const pages: Candle[][] = [];
  for await (const p of history) pages.push(p);
  return pages;
}

describe('candle files', () => {
  it('reads plain and gzipped CSV whatever the name says, and names a bad header or line', async () => {
    const csv = 'TS,Open,High,Low,Close\n1000,1,2,0.5,1.5\n';
    expect(parseCandleCsv(csv)).toEqual([{ ts: 1000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 0 }]);
    const d = dir({ 'a.csv': csv, 'b.csv.gz': csv });
    expect(await readCandleFile(join(d, 'b.csv.gz'))).toEqual(await readCandleFile(join(d, 'a.csv')));
    expect(() => parseCandleCsv('a,b\n1,2')).toThrow(
      expect.objectContaining({ code: 'MD_DATA_PARSE', message: expect.stringMatching(/header/) }),
    );
    expect(() => parseCandleCsv('ts,open,high,low,close\n1,2,x,4,5', 'f.csv')).toThrow(/f\.csv: line 2 is not numeric/);
  });

  it('fills minutes without trades with flat zero-volume bars, as OKX does, and drops repeats', () => {
    const [a, b] = [minutes(1)[0] as OhlcvBar, minutes(1, T0 + 3 * MIN)[0] as OhlcvBar];
    const filled = fillMissingBars([a, a, b], MIN);
    expect(filled.map((x) => (x.ts - T0) / MIN)).toEqual([0, 1, 2, 3]);
    expect(filled[1]).toEqual({ ts: T0 + MIN, open: a.close, high: a.close, low: a.close, close: a.close, volume: 0 });
  });
});

describe('the data directory', () => {
  const files = {
    'okx_BTC-USDT-SWAP_1m_2026-01.csv.gz': toCsv(minutes(180)),
    'binance_BTCUSDT_1h_2026.csv.gz': toCsv(minutes(3).map((b, i) => ({ ...b, ts: T0 + i * 60 * MIN }))),
    'binance_ETHUSDT_5m_x.csv': toCsv(minutes(24).map((b, i) => ({ ...b, ts: T0 + i * 5 * MIN }))),
    'README.md': 'not data',
  };

  it('maps an instrument to the OKX file of its id, else the Binance file of its symbol, rolling up shorter bars', async () => {
    const d = dir(files);
    const listed = await listDataFiles(d);
    expect(listed.map((f) => [f.exchange, f.symbol, f.tf])).toEqual([
      ['binance', 'BTCUSDT', '1H'],
      ['binance', 'ETHUSDT', '5m'],
      ['okx', 'BTC-USDT-SWAP', '1m'],
    ]);
    expect(chooseSeriesFiles(listed, 'BTC-USDT-SWAP', '1H')).toMatchObject({ fileTf: '1m', aggregated: true });
    expect(chooseSeriesFiles(listed, 'BTC-USDT', '1H')).toMatchObject({ fileTf: '1H', aggregated: false });
    expect(chooseSeriesFiles(listed, 'ETH-USDT-SWAP', '1H')).toMatchObject({ fileTf: '5m', aggregated: true });
    expect(chooseSeriesFiles(listed, 'SOL-USDT', '1m')).toBeUndefined();
    expect((await loadDirectorySeries(d, 'BTC-USDT-SWAP', '1H')).bars).toHaveLength(3);
    expect((await loadDirectorySeries(d, 'ETH-USDT', '1H')).bars).toHaveLength(2);
    await expect(loadDirectorySeries(d, 'SOL-USDT', '1m')).rejects.toMatchObject({ code: 'MD_DATA_NOT_FOUND' });
    await expect(listDataFiles(join(d, 'nope'))).rejects.toMatchObject({ code: 'MD_DATA_NOT_FOUND' });
  });

  it('serves a range in pages, stamped with the key asked for', async () => {
    const source = openCandleSource({ kind: 'directory', dir: dir(files) });
    const key = { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m' };
    expect(await source.describe(key)).toBe('okx_BTC-USDT-SWAP_1m_2026-01.csv.gz');
    const pages = await all(source.history(key, { since: T0 + 10 * MIN, until: T0 + 20 * MIN }));
    expect(pages.flat().map((c) => (c.ts - T0) / MIN)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(pages[0]?.[0]).toMatchObject({ venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m', confirmed: true });
    expect(candleProblems(pages[0]?.[0], key)).toEqual([]);
  });

  const shared = process.env.KOKEX_DATA_DIR ?? resolve(import.meta.dirname, '../../../../shared/data');
  it.skipIf(!existsSync(shared))('reads the real data directory: OKX minutes roll up exactly into contiguous hours', async () => {
    const { bars, choice } = await loadDirectorySeries(shared, 'BTC-USDT-SWAP', '1H');
    expect(choice).toMatchObject({ fileTf: '1m', aggregated: true });
    expect(bars.length).toBeGreaterThan(300);
    expect(bars.every((b, i) => i === 0 || b.ts - (bars[i - 1] as OhlcvBar).ts === 60 * MIN)).toBe(true);
    expect((await loadDirectorySeries(shared, 'ETH-USDT', '1H')).choice).toMatchObject({ fileTf: '1H', aggregated: false });
  });
});

describe('the bundled dataset', () => {
  it('holds three real days of BTC-USD minutes, gap-filled, and stands in for BTC instruments only', async () => {
    const bars = await bundledBars();
    expect(bars).toHaveLength(3 * 1440);
    expect(bars[0]?.ts).toBe(Date.UTC(2016, 0, 1));
    expect(bars.every((b, i) => i === 0 || b.ts - (bars[i - 1] as OhlcvBar).ts === MIN)).toBe(true);
    expect(bars.filter((b) => b.volume === 0).length).toBeGreaterThan(300);
    expect(await loadBundledSeries('BTC-USDT-SWAP', '1H')).toHaveLength(72);
    expect(bundledServes('ETH-USDT')).toBe(false);
    await expect(loadBundledSeries('ETH-USDT', '1m')).rejects.toMatchObject({ code: 'MD_DATA_NOT_FOUND' });
  });
});

describe('docs/errors.md', () => {
  it('lists every market-data code and no other', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(MD_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(MarketDataErrorCode).sort());
  });
});
