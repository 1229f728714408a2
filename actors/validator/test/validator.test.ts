import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Candle,
  deletePlan,
  parsePlan,
  publishRawCandles,
  type QualityMessage,
  RawCandleContract,
  Streams,
  storedCandles,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const MIN = 60_000;
const REPO = resolve(import.meta.dirname, '../../..');
const bars = syntheticCandles({ count: 400, seed: 5 });
const first = bars[0]?.ts as number;
const at = (n: number) => first + n * MIN;

let nats: TestNats;
let host: ActorHost | undefined;
let sim: OkxSimulator | undefined;
let plan: string | undefined;

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

/** The validator alone (no feed) against a simulator whose history holds the first 200 bars. */
async function validatorOn(inst: string, scanEvery: string, firstScanMs: number) {
  sim = new OkxSimulator({ data: bars, startAt: at(200), instId: inst, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    config: { validator: { adapters: { okx: { simPort: port } }, contextTimeframes: [], gapGraceMs: 200, firstScanMs, retryMs: 100 } },
  });
  await host.loadPlugin(resolve(REPO, 'plugins/okx'));
  await host.loadPlugin(resolve(REPO, 'actors/validator'));
  plan = inst.toLowerCase();
  const yaml = `apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: ${plan} }\nspec:\n  venue: { name: okx, mode: sim }\n  instrument: ${inst}\n  timeframe: 1m\n  data: { window: 1d, scanEvery: ${scanEvery} }\n  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }\n`;
  await applyPlan(nats.bus, parsePlan(yaml, `${plan}.yaml`));
  await host.start();
  return { venue: 'okx', inst, tf: '1m' };
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

/** Publishes raw bytes onto a raw subject, as a misbehaving producer could: no contract check on the way in. */
async function publishRaw(subj: string, data: unknown, id: string) {
  const envelope = { type: 'md.raw', v: 1, id, correlationId: id, time: Date.now(), source: 'test', data };
  await nats.bus.js.publish(subj, JSON.stringify(envelope), { msgID: id });
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

describe('validator actor', () => {
  it('backfills holes from the venue after the grace period and reports them found and filled', async () => {
    const key = await validatorOn('HOLES-USDT', '1h', 60_000);
    const sent = Array.from({ length: 50 }, (_, n) => n).filter((n) => !(n >= 10 && n < 15) && n !== 30);
    await publishRawCandles(
      nats.bus,
      sent.map((n) => candle(key.inst, n)),
      { source: 'test' },
    );
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 50);
    const stored = await storedCandles(nats.bus, key);
    expect(stored.map((c) => c.ts)).toEqual(Array.from({ length: 50 }, (_, n) => at(n)));
    expect(stored[12]?.close).toBe(bars[12]?.close);
    await eventually(async () => (await quality(key.inst)).some((q) => q.kind === 'report' && q.filled === 6));
    const report = (await quality(key.inst)).filter((q) => q.kind === 'report').at(-1);
    expect(report).toMatchObject({ trigger: 'gap', gapsFound: 6, filled: 6, backfilled: 6, missing: 0, latest: at(49) });
  });

  it('quarantines bad raw bars with their reasons, keeps them and extra copies out of MD_CANDLES, and fills what they left', async () => {
    const key = await validatorOn('BAD-USDT', '1h', 60_000);
    const subj = subject('rawCandle', key);
    await publishRawCandles(
      nats.bus,
      [0, 1, 2, 3].map((n) => candle(key.inst, n)),
      { source: 'test' },
    );
    // Bar 4: high below low (passes the strict schema, fails the checks).
    await publishRawCandles(nats.bus, [candle(key.inst, 4, { high: 1, low: 2 })], { source: 'test' });
    // Bar 5: negative volume (the strict schema would refuse it).
    await publishRaw(subj, candle(key.inst, 5, { volume: -1 }), 'raw-5');
    // Half a minute off the grid, an in-progress bar, another series' bar, and a second copy of bar 0.
    await publishRaw(subj, candle(key.inst, 6, { ts: at(6) + 30_000 }), 'raw-6');
    await nats.bus.publish(RawCandleContract, subj, candle(key.inst, 7, { confirmed: false }), { id: 'raw-7' });
    await publishRaw(subj, candle('OTHER-USDT', 8), 'raw-8');
    await nats.bus.publish(RawCandleContract, subj, candle(key.inst, 0), { id: 'copy-of-0' });
    await publishRawCandles(nats.bus, [candle(key.inst, 9)], { source: 'test' });
    await eventually(async () => (await quality(key.inst)).filter((q) => q.kind === 'quarantine').length === 5);
    const quarantined = (await quality(key.inst)).filter((q) => q.kind === 'quarantine');
    expect(quarantined.map((q) => q.kind === 'quarantine' && [q.reasons, q.origin])).toEqual([
      [['ohlc'], 'raw'],
      [['volume'], 'raw'],
      [['alignment'], 'raw'],
      [['unconfirmed'], 'raw'],
      [['subject'], 'raw'],
    ]);
    // Bars 6, 7, 8 are fetched from the venue; bars 4 and 5 stay out (quarantined slots).
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 8);
    const stored = await storedCandles(nats.bus, key);
    expect(stored.map((c) => (c.ts - first) / MIN)).toEqual([0, 1, 2, 3, 6, 7, 8, 9]);
    const validated = subject('candle', key);
    const info = await nats.bus.jsm.streams.info(Streams.candles, { subjects_filter: validated });
    expect(info.state.subjects?.[validated]).toBe(8);
  });

  it('scans the stored window and fetches the tail the live path cannot see, up to the venue’s now', async () => {
    const key = await validatorOn('SCAN-USDT', '1s', 300);
    // Holes the live path backfills; the 190 bars after the newest stored one only a scan's tail fetch finds.
    await publishRawCandles(
      nats.bus,
      [0, 1, 2, 5, 6, 9].map((n) => candle(key.inst, n)),
      { source: 'test' },
    );
    await eventually(async () => (await storedCandles(nats.bus, key)).length === 200, 15_000);
    const stored = await storedCandles(nats.bus, key);
    // The venue's now is the simulator's replay position (bar 200), not today.
    expect([stored[0]?.ts, stored.at(-1)?.ts]).toEqual([at(0), at(199)]);
    await eventually(async () =>
      (await quality(key.inst)).some((q) => q.kind === 'report' && q.trigger === 'scan' && q.latest === at(199)),
    );
    const scan = (await quality(key.inst)).find((q) => q.kind === 'report' && q.trigger === 'scan' && q.latest === at(199));
    // Four holes inside the stored bars, 190 bars of tail: all found, all filled.
    expect(scan).toMatchObject({ window: { from: at(0), to: at(199), stored: 200 }, gapsFound: 194, filled: 194, missing: 0 });
    // The 190 tail bars arrived in order after the newest: only the four holes were out of order.
    expect(scan).toMatchObject({ outOfOrder: 4 });
  });
});
