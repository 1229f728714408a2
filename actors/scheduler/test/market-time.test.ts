import { resolve } from 'node:path';
import { ActorHost, CandleContract, ManualClock, ScheduleFireContract, Streams, subject } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduledJob } from '../src/index.js';

/**
 * A replayed plan's jobs fire at the plan's market time: the time of its closed candles, not the
 * host's clock (a manual clock that never moves, years after the data). Two plans replay the same
 * hour of 2016, one slowly (a candle at a time), one in a burst: both fire the same slots.
 */
const DIR = resolve(import.meta.dirname, '..');
const T0 = Date.UTC(2016, 0, 4, 9, 0);
const MIN = 60_000;
const job = (plan: string, inst: string): ScheduledJob => ({
  plan,
  job: 'decide',
  schedule: '*/15 * * * *',
  from: 'decide',
  venue: 'okx',
  mode: 'sim',
  inst,
  tf: '1m',
  decide: false,
  decisionWindowMs: 200,
});
const SLOW = job('slow', 'BTC-USDT-SWAP');
const FAST = job('fast', 'ETH-USDT-SWAP');

let nats: TestNats;
let host: ActorHost;

beforeAll(async () => {
  nats = await startTestNats();
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    clock: new ManualClock(Date.UTC(2026, 11, 2)),
    kinds: ['scheduler'],
    config: { scheduler: { extraJobs: [SLOW, FAST], requestTimeoutMs: 300 } },
  });
  await host.loadPlugin(DIR);
  await host.start();
});

afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

async function fires(plan: string) {
  const out = [];
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams
      .getMessage(Streams.clock, { next_by_subj: `kokex.clock.fire.${plan}.>`, seq } as never)
      .catch(() => null);
    if (!msg) return out;
    out.push(ScheduleFireContract.decode(msg.data));
    seq = msg.seq + 1;
  }
}

const publishBar = (inst: string, i: number) => {
  const series = { venue: 'okx', inst, tf: '1m' };
  const bar = { ...series, ts: T0 + i * MIN, open: 1, high: 1, low: 1, close: 1, volume: 1, confirmed: true };
  return nats.bus.publish(CandleContract, subject('candle', series), bar, { id: `${inst}-${i}`, eventTime: T0 + (i + 1) * MIN });
};

describe('scheduler on market time', () => {
  it('fires a replayed plan’s slots at its candles’ time, the same slots slow or fast', async () => {
    const bars = Array.from({ length: 50 }, (_, i) => i);
    for (const i of bars) {
      await publishBar(SLOW.inst, i);
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(bars.map((i) => publishBar(FAST.inst, i)));
    const expected = [15, 30, 45].map((m) => T0 + m * MIN);
    await eventually(async () => (await fires('slow')).length === 3 && (await fires('fast')).length === 3, 15_000);
    for (const plan of ['slow', 'fast']) {
      const stored = await fires(plan);
      expect(stored.map((f) => f.data.at)).toEqual(expected);
      // A fire speaks for its slot in market time; its wall time is the host's (still) clock.
      expect(stored.map((f) => f.eventTime)).toEqual(expected);
      expect(stored.every((f) => f.time === Date.UTC(2026, 11, 2))).toBe(true);
    }
    const jobs = (host.statuses()[0]?.detail.jobs ?? []) as Array<{ plan: string; next: string }>;
    expect(jobs.map((j) => [j.plan, j.next])).toEqual([
      ['slow', new Date(T0 + 60 * MIN).toISOString()],
      ['fast', new Date(T0 + 60 * MIN).toISOString()],
    ]);
  }, 30_000);
});
