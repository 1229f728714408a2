import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ActorHost, applyPlan, type CommandIo, deletePlan, freePort, parsePlan } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseReplayData, replayFromPlans, replayStart, simCommand, spotInstrument, syntheticCandles } from '../src/index.js';

const MIN = 60_000;
const bars = syntheticCandles({ count: 600, seed: 4 });
const csv = ['ts,open,high,low,close,volume', ...bars.map((b) => [b.ts, b.open, b.high, b.low, b.close, b.volume].join(','))].join('\n');

function dataDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'okx-sim-data-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), name.endsWith('.gz') ? gzipSync(text) : text);
  return dir;
}

const plan = (name: string, extra = '') =>
  parsePlan(
    `apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: ${name} }\nspec:\n  venue: { name: okx, mode: sim, sim: { speed: 600${extra} } }\n  instrument: ETH-USDT-SWAP\n  timeframe: 1m\n  data: { window: 2h }\n  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }\n`,
    `${name}.yaml`,
  );

describe('replay data for the simulator', () => {
  it('takes the explicit file, else the data directory (OKX by instrument, else Binance by symbol), else the bundled BTC minutes', async () => {
    const file = join(dataDir({ 'x.csv': csv }), 'x.csv');
    expect(await chooseReplayData({ inst: 'ETH-USDT-SWAP', file })).toMatchObject({ origin: file, bars: expect.any(Array) });
    const both = dataDir({ 'okx_ETH-USDT-SWAP_1m_a.csv.gz': csv, 'binance_ETHUSDT_1m_b.csv': csv });
    expect((await chooseReplayData({ inst: 'ETH-USDT-SWAP', dataDir: both })).origin).toMatch(/okx_ETH-USDT-SWAP_1m_a\.csv\.gz$/);
    const binance = dataDir({ 'binance_ETHUSDT_1m_b.csv': csv });
    expect((await chooseReplayData({ inst: 'ETH-USDT-SWAP', dataDir: binance })).origin).toMatch(/binance_ETHUSDT_1m_b\.csv$/);
    const skipped: string[] = [];
    const bundled = await chooseReplayData({ inst: 'BTC-USDT-SWAP', dataDir: binance, onSkip: (r) => skipped.push(r) });
    expect(bundled.origin).toMatch(/gdax-sim-test-data/);
    expect(bundled.bars).toHaveLength(4320);
    expect(skipped[0]).toMatch(/no file .* serves BTC-USDT-SWAP 1m/);
    await expect(chooseReplayData({ inst: 'ETH-USDT-SWAP', env: {} })).rejects.toMatchObject({ code: 'MD_DATA_NOT_FOUND' });
  });

  it('starts the replay a window into the data, never past half of it', () => {
    expect(replayStart(bars, 120 * MIN)).toBe((bars[0]?.ts as number) + 120 * MIN);
    expect(replayStart(bars, 10_000 * MIN)).toBe((bars[0]?.ts as number) + 300 * MIN);
    expect(spotInstrument('ETH-USDT-SWAP')).toBe('ETH-USDT');
  });

  it('follows the first plan by name that trades okx in sim mode', () => {
    expect(replayFromPlans([plan('b'), plan('a', ', file: x.csv')])).toEqual({
      plan: 'a',
      inst: 'ETH-USDT-SWAP',
      speed: 600,
      file: 'x.csv',
      historyMs: 120 * MIN,
    });
    expect(replayFromPlans([])).toBeNull();
  });
});

describe('okx-sim actor', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('runs the simulator while a plan trades okx in sim mode, and steps aside when the port is taken', async () => {
    const port = await freePort();
    const dir = dataDir({ 'okx_ETH-USDT-SWAP_1m_a.csv.gz': csv });
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('error').log, config: { 'okx-sim': { port, dataDir: dir } } });
    await host.loadPlugin(resolve(import.meta.dirname, '..'));
    await host.start();
    const status = () => host.instances()[0]?.status().detail ?? {};
    expect(status().note).toMatch(/^idle/);
    await applyPlan(nats.bus, plan('sim-a'));
    await eventually(() => status().url === `http://127.0.0.1:${port}`);
    const answer = await fetch(`http://127.0.0.1:${port}/api/v5/market/candles?instId=ETH-USDT-SWAP&bar=1m&limit=1`);
    const body = (await answer.json()) as { code: string; data: string[][] };
    expect(body.code).toBe('0');
    // The replay starts two hours (the plan's window) into the data.
    expect(Number(body.data[0]?.[0])).toBeGreaterThanOrEqual((bars[0]?.ts as number) + 120 * MIN);
    await deletePlan(nats.bus, 'sim-a');
    await eventually(() => status().url === undefined);
    await expect(fetch(`http://127.0.0.1:${port}/api/v5/public/time`)).rejects.toThrow();
    // Another process holds the port: the actor leaves it there and says so.
    const squatter = createServer().listen(port, '127.0.0.1');
    await applyPlan(nats.bus, plan('sim-b'));
    await eventually(() => /in use/.test(String(status().note)));
    expect(host.instances()[0]?.state).toBe('running');
    squatter.close();
    await deletePlan(nats.bus, 'sim-b');
    await host.stop();
  });
});

describe('kokex sim okx', () => {
  const io = () => {
    const lines: string[] = [];
    const abort = new AbortController();
    const value: CommandIo = { print: (l) => lines.push(l), progress: (l) => lines.push(l), signal: abort.signal, env: {} };
    return { lines, abort, value };
  };

  it('serves until Ctrl-C', async () => {
    const port = await freePort();
    const file = join(dataDir({ 'd.csv.gz': csv }), 'd.csv.gz');
    const { lines, abort, value } = io();
    const done = simCommand.run(['okx', '--data', file, '--speed', '600', '--port', String(port)], value);
    await eventually(() => lines.some((l) => l.includes(`http://127.0.0.1:${port}`)));
    expect(((await (await fetch(`http://127.0.0.1:${port}/api/v5/public/time`)).json()) as { code: string }).code).toBe('0');
    abort.abort();
    expect(await done).toBe(0);
    expect(lines.at(-1)).toBe('simulator stopped');
  });

  it('answers a wrong command line with the usage and exit code 2', async () => {
    const { lines, value } = io();
    expect(await simCommand.run(['binance'], value)).toBe(2);
    expect(lines.join('\n')).toMatch(/only okx[\s\S]*usage: kokex sim okx/);
    expect(await simCommand.run(['okx', '--nope'], io().value)).toBe(2);
  });
});
