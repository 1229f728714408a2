import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Candle } from '@kokex/core';
import { loadCandles, OkxSimulator } from '@kokex/plugin-okx-sim';
import { describe, expect, it } from 'vitest';
import { OkxRestClient } from '../src/index.js';

// Real OKX candles from the shared data directory (never committed). Skipped when absent.
const DATA_DIR = process.env.KOKEX_DATA_DIR ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
const FILE = join(DATA_DIR, 'okx_BTC-USDT-SWAP_1m_2026-01.csv.gz');
const present = existsSync(FILE);
const HOUR = 3_600_000;
const skipNote = present ? '' : ` (skipped: ${FILE} not found; set KOKEX_DATA_DIR)`;

describe('real BTC-USDT-SWAP 1m candles replayed through the simulator', () => {
  it.skipIf(!present)(`pages 1H history over the whole file and matches a roll-up of the minutes${skipNote}`, async () => {
    const minutes = await loadCandles(FILE);
    const last = minutes.at(-1)?.ts as number;
    const sim = new OkxSimulator({ data: FILE, startAt: last + 60_000 });
    const { restUrl } = await sim.start();
    try {
      const rest = new OkxRestClient({ baseUrl: restUrl });
      const hours: Candle[] = [];
      for await (const c of rest.requestCandleHistory({
        instId: 'BTC-USDT-SWAP',
        bar: '1H',
        since: minutes[0]?.ts as number,
        until: last + 60_000,
      }))
        hours.push(c);
      // Every complete hour, once, ascending; the final partial hour is still forming.
      const complete = Math.floor((last + 60_000 - (minutes[0]?.ts as number)) / HOUR);
      expect(hours).toHaveLength(complete);
      expect(hours.every((c, i) => i === 0 || c.ts - (hours[i - 1] as Candle).ts === HOUR)).toBe(true);
      // An hour in the middle equals the roll-up of its 60 minutes from the file.
      const probe = hours[200] as Candle;
      const inHour = minutes.filter((m) => m.ts >= probe.ts && m.ts < probe.ts + HOUR);
      expect(inHour).toHaveLength(60);
      expect(probe.open).toBe(inHour[0]?.open);
      expect(probe.close).toBe(inHour[59]?.close);
      expect(probe.high).toBe(Math.max(...inHour.map((m) => m.high)));
      expect(probe.low).toBe(Math.min(...inHour.map((m) => m.low)));
      expect(probe.volume).toBeCloseTo(
        inHour.reduce((s, m) => s + m.volume, 0),
        6,
      );
    } finally {
      await sim.stop();
    }
  });

  it.skipIf(!present)(`pages 3,000 real 1m bars exactly once, ascending${skipNote}`, async () => {
    const minutes = await loadCandles(FILE);
    const from = minutes[10_000]?.ts as number;
    const sim = new OkxSimulator({ data: minutes, startAt: minutes[15_000]?.ts });
    const { restUrl } = await sim.start();
    try {
      const rest = new OkxRestClient({ baseUrl: restUrl });
      const got: Candle[] = [];
      for await (const c of rest.requestCandleHistory({ instId: 'BTC-USDT', bar: '1m', since: from, until: from + 3000 * 60_000 }))
        got.push(c);
      expect(got.map((c) => c.ts)).toEqual(minutes.slice(10_000, 13_000).map((m) => m.ts));
      expect(got.map((c) => c.close)).toEqual(minutes.slice(10_000, 13_000).map((m) => m.close));
    } finally {
      await sim.stop();
    }
  });
});
