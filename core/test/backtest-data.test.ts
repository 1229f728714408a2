import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BacktestDataError, barsToCsv, loadBacktestData } from '../src/backtest/data.js';
import { walkBars, writeData } from './fixtures/backtest-data.js';

const T0 = Date.UTC(2026, 0, 1);
const INST = 'BTC-USDT-SWAP';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kokex-bt-data-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function dirWith(name: string, rows: string[], file = `okx_${INST}_1m_2026-01.csv`): Promise<string> {
  const dir = join(root, name);
  await writeData(dir, file, rows);
  return dir;
}

const load = (dir: string, gaps?: 'error' | 'carry') => loadBacktestData({ dir, inst: INST, tf: '1m', ...(gaps ? { gaps } : {}) });

describe('backtest data: bad input is an error naming the file and line', () => {
  it('reads a clean file with its sha256 and row count', async () => {
    const dir = await dirWith('clean', walkBars({ start: T0, count: 10, price: 100, seed: 1 }));
    const d = await load(dir);
    expect(d.bars).toHaveLength(10);
    expect(d.files).toEqual([{ name: `okx_${INST}_1m_2026-01.csv`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), rows: 10 }]);
    expect(d.gaps).toEqual([]);
    // What the simulator is handed reads back as the same bars.
    expect(barsToCsv(d.bars).split('\n')[1]).toBe(walkBars({ start: T0, count: 1, price: 100, seed: 1 })[0]);
  });

  it('refuses a gap with the line after it, and says how to carry on', async () => {
    const rows = walkBars({ start: T0, count: 10, price: 100, seed: 2 });
    rows.splice(4, 2); // bars 4 and 5 missing: line 6 (header is line 1) holds bar 6
    const dir = await dirWith('gap', rows);
    await expect(load(dir)).rejects.toThrow(
      new RegExp(`okx_${INST}_1m_2026-01.csv:6: a gap of 2 bar\\(s\\) from 2026-01-01T00:04:00.000Z.*--gaps carry`),
    );
  });

  it('with --gaps carry fills the gap flat at the previous close and lists it', async () => {
    const rows = walkBars({ start: T0, count: 10, price: 100, seed: 2 });
    rows.splice(4, 2);
    const d = await load(await dirWith('gap-carry', rows), 'carry');
    expect(d.bars.map((b) => b.ts)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * 60_000));
    const prevClose = d.bars[3]?.close;
    expect(d.bars[4]).toEqual({ ts: T0 + 4 * 60_000, open: prevClose, high: prevClose, low: prevClose, close: prevClose, volume: 0 });
    expect(d.gaps).toEqual([{ from: T0 + 4 * 60_000, bars: 2, at: `okx_${INST}_1m_2026-01.csv:6` }]);
  });

  it('refuses a duplicate row, naming both copies', async () => {
    const rows = walkBars({ start: T0, count: 6, price: 100, seed: 3 });
    rows.splice(3, 0, rows[2] as string);
    await expect(load(await dirWith('dup', rows))).rejects.toThrow(
      `okx_${INST}_1m_2026-01.csv:5: duplicate row for ts ${T0 + 2 * 60_000} (first at okx_${INST}_1m_2026-01.csv:4)`,
    );
  });

  it('refuses a bad row: text where a price belongs, a high below the close, a missing column', async () => {
    const rows = walkBars({ start: T0, count: 6, price: 100, seed: 4 });
    const bad = [...rows];
    bad[2] = `${T0 + 2 * 60_000},abc,1,1,1,1`;
    await expect(load(await dirWith('bad-number', bad))).rejects.toThrow(`okx_${INST}_1m_2026-01.csv:4: open "abc" is not a valid number`);
    const ohlc = [...rows];
    ohlc[1] = `${T0 + 60_000},100,99,98,100.5,1`;
    await expect(load(await dirWith('bad-ohlc', ohlc))).rejects.toThrow(new RegExp(`okx_${INST}_1m_2026-01.csv:3: .*high 99 is below`));
    const short = [...rows];
    short[3] = `${T0 + 3 * 60_000},100,101,99`;
    await expect(load(await dirWith('bad-columns', short))).rejects.toThrow(`okx_${INST}_1m_2026-01.csv:5: expected 6 columns`);
  });

  it('refuses rows out of order and a wrong header', async () => {
    // Bars 1-3, then bar 0 again at line 5.
    const rows = walkBars({ start: T0, count: 4, price: 100, seed: 5 });
    const order = [...rows.slice(1), rows[0] as string];
    await expect(load(await dirWith('order', order))).rejects.toThrow(
      `okx_${INST}_1m_2026-01.csv:5: ts ${T0} is before the previous row's ${T0 + 3 * 60_000}`,
    );
    const dir = join(root, 'header');
    await writeData(dir, `okx_${INST}_1m_x.csv`, []);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, `okx_${INST}_1m_x.csv`), 'time,o,h,l,c,v\n1,1,1,1,1,1\n');
    await expect(load(dir)).rejects.toThrow(`okx_${INST}_1m_x.csv:1: the header must be "ts,open,high,low,close,volume"`);
  });

  it('says what it looked for when no file serves the instrument', async () => {
    const dir = await dirWith('other', walkBars({ start: T0, count: 3, price: 100, seed: 6 }), 'okx_ETH-USDT-SWAP_1m_2026-01.csv');
    const err = await load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BacktestDataError);
    expect((err as Error).message).toContain(`no file in ${dir} serves ${INST}`);
    expect((err as Error).message).toContain(`binance_BTCUSDT_`);
  });

  it('takes a Binance file of the symbol when there is no OKX file', async () => {
    const dir = await dirWith('binance', walkBars({ start: T0, count: 4, price: 100, seed: 7 }), 'binance_BTCUSDT_1m_2026-01.csv');
    expect((await load(dir)).files[0]?.name).toBe('binance_BTCUSDT_1m_2026-01.csv');
  });
});
