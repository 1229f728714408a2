import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subject } from '@kokex/core';
import { startTestNats, type TestNats } from '@kokex/core/testing';
import { candleCsvName, exportCandleWindow, NoCandlesError, readCandleWindow } from '../src/index.js';
import { CANDLES_START, HOUR, publishCandles, syntheticCandles } from './support.js';

let nats: TestNats;
let dir: string;

beforeAll(async () => {
  nats = await startTestNats();
  dir = await mkdtemp(join(tmpdir(), 'kokex-trainer-csv-'));
});
afterAll(async () => {
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('candle window export', () => {
  it('writes the newest window of one series as ascending, de-duplicated CSV', async () => {
    const bars = syntheticCandles('WIN-USDT', 100);
    // Stored out of bar order, as after a live start followed by a backfill.
    await publishCandles(nats.bus, bars.slice(60));
    await publishCandles(nats.bus, bars.slice(0, 60));
    // A repaired bar stored later (another message id) replaces the first copy. Its volume differs,
    // since a price outside the bar's range is refused at publish by the one candle check.
    const repaired = { ...(bars[95] as (typeof bars)[number]), volume: 12_345.5 };
    await publishCandles(nats.bus, [repaired], ':repaired');
    // Neighbours that must not leak in: another timeframe and another venue of the same instrument.
    await publishCandles(nats.bus, syntheticCandles('WIN-USDT', 5, { tf: '4H' }));
    await publishCandles(nats.bus, syntheticCandles('WIN-USDT', 5, { venue: 'binance' }));
    // Something on the subject that is not a candle is skipped and counted.
    await nats.bus.js.publish(
      subject('candle', { venue: 'okx', inst: 'WIN-USDT', tf: '1H' }),
      new TextEncoder().encode('{"not":"a candle"}'),
    );

    const path = join(dir, candleCsvName('okx', 'WIN-USDT', '1H'));
    const file = await exportCandleWindow(nats.bus, path, { venue: 'okx', inst: 'WIN-USDT', tf: '1H', windowMs: 24 * HOUR });
    expect(path.endsWith('okx_WIN-USDT_1h_window.csv')).toBe(true);
    expect(file).toMatchObject({ rows: 24, invalid: 1, first: CANDLES_START + 76 * HOUR, last: CANDLES_START + 99 * HOUR });
    expect(file.end).toBe(CANDLES_START + 100 * HOUR);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('ts,open,high,low,close,volume');
    expect(lines).toHaveLength(25);
    const expected = bars.slice(76).map((b) => (b.ts === repaired.ts ? repaired : b));
    expect(lines.slice(1)).toEqual(expected.map((b) => `${b.ts},${b.open},${b.high},${b.low},${b.close},${b.volume}`));
  });

  it('takes an explicit end and reads every stored copy only once', async () => {
    const window = await readCandleWindow(nats.bus, {
      venue: 'okx',
      inst: 'WIN-USDT',
      tf: '1H',
      windowMs: 10 * HOUR,
      end: CANDLES_START + 50 * HOUR,
    });
    expect(window.candles.map((c) => c.ts)).toEqual(Array.from({ length: 10 }, (_, i) => CANDLES_START + (40 + i) * HOUR));
    // 100 bars, the repaired copy and the stray message: nothing read twice, nothing from the neighbours.
    expect(window.read).toBe(102);
  });

  it('names the series when nothing is stored', async () => {
    const attempt = exportCandleWindow(nats.bus, join(dir, 'none.csv'), { venue: 'okx', inst: 'NONE-USDT', tf: '1H', windowMs: HOUR });
    await expect(attempt).rejects.toBeInstanceOf(NoCandlesError);
    await expect(attempt).rejects.toThrow(/kokex\.md\.candle\.okx\.NONE-USDT\.1H: nothing stored/);
  });

  it('names the window when it holds no bar', async () => {
    const attempt = exportCandleWindow(nats.bus, join(dir, 'empty.csv'), {
      venue: 'okx',
      inst: 'WIN-USDT',
      tf: '1H',
      windowMs: HOUR,
      end: CANDLES_START - 10 * HOUR,
    });
    await expect(attempt).rejects.toThrow(/none in the window 2025-12-31T13:00:00.000Z/);
  });
});
