import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Candle,
  CandleContract,
  deletePlan,
  EventMarketClock,
  parsePlan,
  publishRawCandles,
  type QualityMessage,
  Streams,
  storedCandles,
  subject,
  wallMarketClock,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { futureLimits, futureProblem } from '../src/future.js';

/**
 * Issue 12 finding 1, the stored forged candle: when the server has no per-actor users, anyone can
 * publish on `kokex.md.candle.…` and MD_CANDLES stores it. A bar dated 2036 stored there used to
 * become the validator's newest bar when it loaded the series (at start, at every scan): later raw
 * bars were "late", so the gaps before them were never found, and the scans measured their window
 * from 2036, so bars lost while nats-server was down were never repaired. Times in the future are
 * refused: such a bar is quarantined (`future`) and deleted from MD_CANDLES, and the gaps are
 * repaired as if it had never been there.
 */
const MIN = 60_000;
const REPO = resolve(import.meta.dirname, '../../..');
const bars = syntheticCandles({ count: 400, seed: 12 });
const first = bars[0]?.ts as number;
const at = (n: number) => first + n * MIN;
const FORGED_TS = Date.UTC(2036, 0, 1);

let nats: TestNats;
let host: ActorHost | undefined;
let sim: OkxSimulator | undefined;
let plan: string | undefined;
let simPort = 0;

beforeAll(async () => {
  nats = await startTestNats();
});
afterEach(async () => {
  await host?.stop();
  await sim?.stop();
  if (plan) await deletePlan(nats.bus, plan);
  host = sim = plan = undefined;
});
afterAll(async () => {
  await nats?.stop();
});

/** A plan on the simulator (a replay: sim mode, an event market clock) whose venue history holds the first 200 bars. */
async function planOn(inst: string, scanEvery: string) {
  sim = new OkxSimulator({ data: bars, startAt: at(200), instId: inst, idleTimeoutMs: 0 });
  simPort = (await sim.start({ port: 0 })).port;
  plan = inst.toLowerCase();
  const yaml = `apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: ${plan} }\nspec:\n  venue: { name: okx, mode: sim }\n  instrument: ${inst}\n  timeframe: 1m\n  data: { window: 1d, scanEvery: ${scanEvery} }\n  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }\n`;
  await applyPlan(nats.bus, parsePlan(yaml, `${plan}.yaml`));
  return { venue: 'okx', inst, tf: '1m' };
}

/** A validator host (no feed) on the simulator. */
async function startValidator(firstScanMs: number) {
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    config: { validator: { adapters: { okx: { simPort } }, contextTimeframes: [], gapGraceMs: 200, firstScanMs, retryMs: 100 } },
  });
  await host.loadPlugin(resolve(REPO, 'plugins/okx'));
  await host.loadPlugin(resolve(REPO, 'actors/validator'));
  await host.start();
}

const candle = (inst: string, n: number, patch: Partial<Candle> = {}): Candle => {
  const b = bars[n] as (typeof bars)[number];
  return {
    venue: 'okx',
    inst,
    tf: '1m',
    ts: b.ts,
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    confirmed: true,
    ...patch,
  };
};

/** The harness's forgery: a closed bar at 0.0001, stored straight into MD_CANDLES (no validator on the way). */
async function forgeStored(key: { venue: string; inst: string; tf: string }, ts: number, id: string) {
  const bar = { ...key, ts, open: 0.0001, high: 0.0001, low: 0.0001, close: 0.0001, volume: 1, confirmed: true };
  await nats.bus.publish(CandleContract, subject('candle', key), bar, { id, source: 'feed', eventTime: ts + MIN });
}

async function quality(inst: string): Promise<QualityMessage[]> {
  const out: QualityMessage[] = [];
  const stream = await nats.bus.js.streams.get(Streams.quality);
  const info = await nats.bus.jsm.streams.info(Streams.quality);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await stream.getMessage({ seq }).catch(() => null);
    if (m?.subject === `kokex.md.quality.okx.${inst}.1m`) out.push(m.json<{ data: QualityMessage }>().data);
  }
  return out;
}

const validatorStatus = () =>
  host?.statuses().find((s) => s.kind === 'validator')?.detail as
    | { series: Array<{ id: string; latest?: string; future: { raw: number; deleted: number; skipped: number } }> }
    | undefined;

describe('validator: times in the future are refused', () => {
  it('a stored bar dated 2036 does not become the newest bar at load: it is deleted, and the gaps before it are still repaired', async () => {
    const key = await planOn('FUTURE-USDT', '1h');
    // Bars 0-19 validated and stored; then the validator goes down (as a killed host does).
    await startValidator(60_000);
    await publishRawCandles(
      nats.bus,
      Array.from({ length: 20 }, (_, n) => candle(key.inst, n)),
      { source: 'test' },
    );
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 20);
    await host?.stop();
    // While it is down the forged bar is stored; the validator starts again and loads the series.
    await forgeStored(key, FORGED_TS, 'forged-2036');
    expect((await storedCandles(nats.bus, key)).at(-1)?.ts).toBe(FORGED_TS);
    await startValidator(60_000);
    // Bars 20-24 were lost (the feed could not publish them); 25-29 arrive.
    await publishRawCandles(
      nats.bus,
      Array.from({ length: 5 }, (_, n) => candle(key.inst, 25 + n)),
      { source: 'test' },
    );
    // The gap is found and backfilled from the venue: 0-29, each once, and no 2036 bar left.
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 30, 15_000);
    const stored = await storedCandles(nats.bus, key);
    expect(stored.map((c) => (c.ts - first) / MIN)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    const quarantined = (await quality(key.inst)).filter((q) => q.kind === 'quarantine');
    expect(quarantined.map((q) => q.kind === 'quarantine' && [q.reasons, q.origin, q.ts])).toEqual([[['future'], 'stream', FORGED_TS]]);
    const reports = (await quality(key.inst)).filter((q) => q.kind === 'report');
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((q) => q.kind === 'report' && (q.latest ?? 0) < FORGED_TS)).toBe(true);
    expect(reports.at(-1)).toMatchObject({ trigger: 'gap', latest: at(29), gapsFound: 5, filled: 5, missing: 0 });
    const status = validatorStatus()?.series.find((s) => s.id.includes(key.inst));
    expect(status).toMatchObject({ latest: new Date(at(29)).toISOString(), future: { raw: 0, deleted: 1, skipped: 0 } });
  });

  it('a raw bar that closes after the wall clock is quarantined, never published', async () => {
    const key = await planOn('FUTRAW-USDT', '1h');
    await startValidator(60_000);
    await publishRawCandles(nats.bus, [candle(key.inst, 0), candle(key.inst, 1, { ts: FORGED_TS }), candle(key.inst, 2)], {
      source: 'test',
    });
    await eventually(async () => (await quality(key.inst)).some((q) => q.kind === 'quarantine'));
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 3, 15_000);
    // Bar 1 (its slot left empty by the forged copy) comes from the venue: nothing dated 2036 is stored.
    expect((await storedCandles(nats.bus, key)).map((c) => (c.ts - first) / MIN)).toEqual([0, 1, 2]);
    const quarantined = (await quality(key.inst)).filter((q) => q.kind === 'quarantine');
    expect(quarantined.map((q) => q.kind === 'quarantine' && [q.reasons, q.origin, q.ts])).toEqual([[['future'], 'raw', FORGED_TS]]);
  });

  it('in a replay, a stored bar a day ahead of the market clock (but not of the wall) is not booked by a scan', async () => {
    const key = await planOn('AHEAD-USDT', '2s');
    await startValidator(500);
    await publishRawCandles(
      nats.bus,
      Array.from({ length: 10 }, (_, n) => candle(key.inst, n)),
      { source: 'test' },
    );
    await eventually(async () => (await storedCandles(nats.bus, key)).length >= 10);
    // A day after the replay's newest bar: long ago on the wall clock, the future for this replay.
    const ahead = at(9) + 86_400_000;
    await forgeStored(key, ahead, 'forged-ahead');
    await eventually(async () => (validatorStatus()?.series.find((s) => s.id.includes(key.inst))?.future.skipped ?? 0) > 0, 15_000);
    const reports = (await quality(key.inst)).filter((q) => q.kind === 'report');
    expect(reports.every((q) => q.kind === 'report' && (q.latest ?? 0) < ahead)).toBe(true);
    // Kept in the stream (a replay's clock may get there), but the series' newest bar is the replay's.
    const status = validatorStatus()?.series.find((s) => s.id.includes(key.inst));
    expect(status?.latest).not.toBe(new Date(ahead).toISOString());
  });
});

describe('futureLimits', () => {
  it('bounds every bar by the wall clock, and stored bars in a replay by the market clock plus one bar', () => {
    const wall = Date.UTC(2026, 11, 2);
    expect(futureLimits({ wallNow: wall, market: wallMarketClock(), tfMs: MIN, toleranceMs: 5000 })).toEqual({
      wall: wall + 5000,
      market: wall + 5000,
    });
    const replay = new EventMarketClock();
    expect(futureLimits({ wallNow: wall, market: replay, tfMs: MIN, toleranceMs: 5000 })).toEqual({
      wall: wall + 5000,
      market: wall + 5000,
    });
    replay.observe(Date.UTC(2016, 0, 2));
    expect(futureLimits({ wallNow: wall, market: replay, tfMs: MIN, toleranceMs: 5000 }).market).toBe(Date.UTC(2016, 0, 2) + MIN + 5000);
    expect(futureProblem(wall + 5000, wall + 5000, 'wall clock')).toBeUndefined();
    expect(futureProblem(8.64e15 * 10, wall, 'wall clock')).toMatchObject({ fault: 'future', field: 'ts' });
  });
});
