import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type CommandIo, freePort, loadPlugin, type OhlcvBar, storedCandles } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataCommand } from '../src/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const START = Date.UTC(2026, 0, 1);
/** Ten days of minutes, a gentle deterministic walk. */
const bars: OhlcvBar[] = Array.from({ length: 60 * 24 * 10 }, (_, i) => {
  const open = 30_000 + 50 * Math.sin(i / 97);
  const close = 30_000 + 50 * Math.sin((i + 1) / 97);
  return { ts: START + i * MIN, open, high: Math.max(open, close) + 1, low: Math.min(open, close) - 1, close, volume: 1 + (i % 7) };
});
const csv = (rows: OhlcvBar[]) =>
  ['ts,open,high,low,close,volume', ...rows.map((b) => [b.ts, b.open, b.high, b.low, b.close, b.volume].join(','))].join('\n');
const iso = (ts: number) => new Date(ts).toISOString();

let nats: TestNats;
let restUrl: string;
const stopSim = new AbortController();
let simDone: Promise<number> | undefined;

beforeAll(async () => {
  nats = await startTestNats();
  // The simulator through its own command (loaded as a plugin, as the CLI does), replaying so
  // slowly that its clock stays at 2026-01-09: eight days of history behind it.
  const dir = mkdtempSync(join(tmpdir(), 'kokex-pull-sim-'));
  writeFileSync(join(dir, 'btc.csv.gz'), gzipSync(csv(bars)));
  const sim = (await loadPlugin(resolve(import.meta.dirname, '../../okx-sim'))).definition.commands?.find((c) => c.name === 'sim');
  const port = await freePort();
  const lines: string[] = [];
  const args = ['okx', '--data', join(dir, 'btc.csv.gz'), '--start', '2026-01-09T00:00:00Z', '--speed', '0.000001', '--port', String(port)];
  simDone = sim?.run(args, { print: (l) => lines.push(l), progress: () => undefined, signal: stopSim.signal, env: {} });
  await eventually(() => lines.some((l) => l.includes(`127.0.0.1:${port}`)));
  restUrl = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  stopSim.abort();
  await simDone;
  await nats?.stop();
});

function io(env: Record<string, string> = {}) {
  const lines: string[] = [];
  const progress: string[] = [];
  const value: CommandIo = {
    print: (l) => lines.push(l),
    progress: (l) => progress.push(l),
    signal: new AbortController().signal,
    env: { NATS_URL: nats.url, KOKEX_PLUGIN_PATH: resolve(import.meta.dirname, '../..'), ...env },
  };
  return { lines, progress, value };
}

const pull = (args: string[], env?: Record<string, string>) => {
  const t = io(env);
  return dataCommand.run(['pull', ...args], t.value).then((code) => ({ code, ...t }));
};

describe('kokex data pull', () => {
  const key = { venue: 'okx', inst: 'BTC-USDT', tf: '1H' };
  const venueArgs = ['--venue', 'okx', '--inst', 'BTC-USDT', '--tf', '1H', '--mode', 'sim', '--rest-url'];

  // The pull writes the validator's inbox (MD_RAW); the validator checks the bars into MD_CANDLES.
  it('copies venue history into MD_RAW with a progress bar, and a re-run stores nothing twice', async () => {
    const first = await pull([...venueArgs, restUrl, '--since', '2026-01-02', '--until', '2026-01-05']);
    expect(first.code).toBe(0);
    expect(first.lines[0]).toBe(
      'pulling okx BTC-USDT 1H from okx REST history into kokex.md.raw.okx.BTC-USDT.1H (the validator checks them into kokex.md.candle.okx.BTC-USDT.1H)',
    );
    expect(first.progress.at(-1)).toMatch(/^\[█{24}\] 100% {2}72 bars read, 72 stored/);
    expect(first.lines.at(-1)).toMatch(
      /^okx BTC-USDT 1H: 72 stored, 0 already stored, 0 rejected; 2026-01-02T00:00:00.000Z … 2026-01-04T23:00:00.000Z$/,
    );
    const again = await pull([...venueArgs, restUrl, '--since', '2026-01-02', '--until', '2026-01-05']);
    expect(again.lines.at(-1)).toMatch(/0 stored, 0 already stored, 0 rejected; nothing new \(resumed after 2026-01-04T23:00:00.000Z\)$/);
    expect(await storedCandles(nats.bus, key, 'rawCandle')).toHaveLength(72);
    expect(await storedCandles(nats.bus, key, 'candle')).toHaveLength(0);
  });

  it('resumes after the last stored bar, up to the venue’s current bar when no end is given', async () => {
    const more = await pull([...venueArgs, restUrl, '--since', '2026-01-02']);
    expect(more.code).toBe(0);
    // 2026-01-05 to the simulator's now (2026-01-09): four more days.
    expect(more.lines.at(-1)).toMatch(
      /^okx BTC-USDT 1H: 96 stored, 0 already stored, 0 rejected; 2026-01-05T00:00:00.000Z … 2026-01-08T23:00:00.000Z \(resumed after 2026-01-04T23:00:00.000Z\)$/,
    );
    const stored = await storedCandles(nats.bus, key, 'rawCandle');
    expect(stored).toHaveLength(168);
    expect(stored.every((c, i) => i === 0 || c.ts - (stored[i - 1]?.ts as number) === HOUR)).toBe(true);
    expect(stored.at(-1)?.ts).toBe(Date.UTC(2026, 0, 8, 23));
  });

  it('pulls from a data directory or the bundled dataset through the same loader', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kokex-pull-'));
    writeFileSync(join(dir, 'okx_ETH-USDT_1m_2026-01.csv.gz'), gzipSync(csv(bars.slice(0, 180))));
    const fromDir = await pull(['--inst', 'ETH-USDT', '--tf', '1H', '--since', iso(bars[0]?.ts as number), '--source', 'directory'], {
      KOKEX_DATA_DIR: dir,
    });
    expect(fromDir.lines[0]).toMatch(/from okx_ETH-USDT_1m_2026-01\.csv\.gz \(1m rolled up to 1H\)/);
    expect(fromDir.lines.at(-1)).toMatch(/: 3 stored/);
    const bundled = await pull(['--inst', 'BTC-USD', '--tf', '1H', '--since', '2016-01-01', '--source', 'bundled']);
    expect(bundled.lines.at(-1)).toMatch(/^okx BTC-USD 1H: 72 stored/);
  });

  it('answers wrong arguments with the usage and exit code 2', async () => {
    expect((await pull(['--inst', 'BTC-USDT', '--tf', '1h', '--since', '2026-01-01'])).lines[0]).toMatch(/--tf 1h is not an OKX bar name/);
    expect((await pull(['--inst', 'BTC-USDT', '--tf', '1H', '--since', 'yesterday'])).code).toBe(2);
    expect((await pull(['--inst', 'BTC-USDT', '--tf', '1H', '--since', '2026-01-01', '--source', 'ftp'])).code).toBe(2);
    expect((await pull(['--bogus'])).code).toBe(2);
    const nothing = io();
    expect(await dataCommand.run([], nothing.value)).toBe(2);
    expect(nothing.lines[0]).toMatch(/^usage: kokex data pull/);
  });
});
