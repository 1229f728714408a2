import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorHost,
  applyPlan,
  CandleContract,
  type ClockTick,
  ClockTickContract,
  ManualClock,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { timeframesOf } from '../src/index.js';

const CLOCK_DIR = resolve(__dirname, '..');
const DEMO_PLAN = resolve(__dirname, '../../../plans/demo.yaml');

let nats: TestNats;
const hosts: ActorHost[] = [];

async function clockHost(clock: ManualClock, timeframes: string[] = []) {
  const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, clock, config: { clock: { timeframes } } });
  hosts.push(host);
  await host.loadPlugin(CLOCK_DIR);
  await host.start();
  return host;
}

async function ticksIn(filter: string): Promise<ClockTick[]> {
  const out = [];
  const info = await nats.bus.jsm.streams.info(Streams.clock);
  const stream = await nats.bus.js.streams.get(Streams.clock);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await stream.getMessage({ seq }).catch(() => null);
    if (m && (filter === '>' || m.subject === filter)) out.push(ClockTickContract.decode(m.data).data);
  }
  return out;
}

beforeAll(async () => {
  nats = await startTestNats();
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  await nats.bus.jsm.streams.purge(Streams.clock);
});
afterAll(async () => {
  await nats?.stop();
});

describe('clock actor', () => {
  it('orders timeframes and drops repeats', () => {
    expect(timeframesOf({ timeframes: ['1H', '1m', '1m', '5m'] })).toEqual(['1m', '5m', '1H']);
  });

  it('ticks once per bar boundary with the closed bar open time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    await clockHost(clock, ['1m', '5m']);
    clock.advance(5 * 60_000);
    await eventually(async () => (await ticksIn('>')).length === 6);
    const ticks = await ticksIn('kokex.clock.tick.5m');
    expect(ticks).toEqual([{ tf: '5m', barOpen: Date.UTC(2026, 0, 1, 0, 0), boundary: Date.UTC(2026, 0, 1, 0, 5), lateMs: 0 }]);
    const minutes = (await ticksIn('kokex.clock.tick.1m')).map((t) => t.boundary);
    expect(minutes).toEqual([1, 2, 3, 4, 5].map((m) => Date.UTC(2026, 0, 1, 0, m)));
  });

  it('gives one stored tick per boundary when two replicas fire', async () => {
    // Another day than the other tests: the stream's de-duplication window outlives a purge.
    const clock = new ManualClock(Date.UTC(2026, 1, 1, 0, 0, 30));
    await clockHost(clock, ['1m']);
    await clockHost(clock, ['1m']);
    clock.advance(3 * 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await ticksIn('>')).map((t) => t.boundary)).toEqual([1, 2, 3].map((m) => Date.UTC(2026, 1, 1, 0, m)));
  });

  it('follows the plans: a plan change reconfigures the clock only when its timeframes change', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const host = await clockHost(clock);
    const inst = host.instances()[0]!;
    const text = await readFile(DEMO_PLAN, 'utf8');
    const demo = parsePlan(text, DEMO_PLAN);
    // A live-data plan (paper) ticks on the wall clock; a replayed one (the demo's sim) on its candles.
    const plan = { ...demo, spec: { ...demo.spec, venue: { ...demo.spec.venue, mode: 'paper' as const } } };
    await applyPlan(nats.bus, { ...plan, metadata: { ...plan.metadata, name: 'clock-a' } });
    await eventually(() => host.reconfigurations.get(inst.instanceId) === 1);
    expect(inst.status().detail.timeframes).toEqual(['1m']);
    // A risk-only change does not touch the clock.
    await applyPlan(nats.bus, {
      ...plan,
      metadata: { ...plan.metadata, name: 'clock-a' },
      spec: { ...plan.spec, risk: { ...plan.spec.risk, maxNotional: 5 } },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(host.reconfigurations.get(inst.instanceId)).toBe(1);
    // A second plan on 1H adds a timeframe.
    await applyPlan(nats.bus, { ...plan, metadata: { ...plan.metadata, name: 'clock-b' }, spec: { ...plan.spec, timeframe: '1H' } });
    await eventually(() => host.reconfigurations.get(inst.instanceId) === 2);
    expect(inst.status().detail.timeframes).toEqual(['1m', '1H']);
    expect(inst.state).toBe('running');
    // It reconfigured in place: still the same instance.
    expect(host.instances().map((i) => i.instanceId)).toEqual([inst.instanceId]);
  });

  it('ticks a replayed plan on its candles’ market time, the same boundaries whether they come slowly or in a burst', async () => {
    // The wall clock stands still (and is years later): only the candles move the replay's time.
    const clock = new ManualClock(Date.UTC(2026, 11, 2, 9, 0, 30));
    const host = await clockHost(clock);
    const inst = host.instances()[0]!;
    const demo = parsePlan(await readFile(DEMO_PLAN, 'utf8'), DEMO_PLAN);
    await applyPlan(nats.bus, { ...demo, metadata: { ...demo.metadata, name: 'replayed' } });
    await eventually(() => host.reconfigurations.get(inst.instanceId) === 1);
    // (The paper plans of the test before stay applied: they tick on the wall clock, which stands still.)
    expect(inst.status().detail.replays).toEqual([expect.objectContaining({ plan: 'replayed', tf: '1m' })]);
    const series = { venue: 'okx', inst: demo.spec.instrument, tf: '1m' };
    const t0 = Date.UTC(2016, 0, 1);
    const candle = (i: number) => ({ ...series, ts: t0 + i * 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1, confirmed: true });
    const publish = (i: number) =>
      nats.bus.publish(CandleContract, subject('candle', series), candle(i), { id: `c-${i}`, eventTime: t0 + (i + 1) * 60_000 });
    // Slowly: one candle at a time, waiting for its tick.
    for (const i of [0, 1, 2]) {
      await publish(i);
      await eventually(async () => (await ticksIn('kokex.clock.tick.1m')).length === i + 1);
    }
    // Then a burst, one repeated and a gap of five minutes.
    await Promise.all([3, 4, 4, 10].map(publish));
    await eventually(async () => (await ticksIn('kokex.clock.tick.1m')).length === 6);
    await new Promise((r) => setTimeout(r, 300));
    const ticks = await ticksIn('kokex.clock.tick.1m');
    expect(ticks.map((t) => t.boundary)).toEqual([1, 2, 3, 4, 5, 11].map((m) => t0 + m * 60_000));
    expect(ticks.every((t) => t.plan === 'replayed' && t.lateMs === 0 && t.barOpen === t.boundary - 60_000)).toBe(true);
  });
});
