import { ManualClock } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { seriesRepairMachine } from '../src/machine.js';

type Job = 'load' | 'backfill' | 'scan';

/** The repair machine with jobs the test resolves or fails by hand, on a manual clock; `scanEveryMs` undefined: no plan names the series. */
function harness(scanEveryMs: number | undefined) {
  const clock = new ManualClock(0);
  const calls: Array<{ job: Job; at: number; resolve(): void; reject(err: Error): void }> = [];
  const fake = (job: Job) =>
    fromPromise(() => new Promise<void>((resolve, reject) => calls.push({ job, at: clock.now(), resolve, reject })));
  const machine = seriesRepairMachine.provide({ actors: { load: fake('load'), backfill: fake('backfill'), scan: fake('scan') } });
  const actor = createActor(machine, { clock, input: { retryMs: 100, gapGraceMs: 1_500, firstScanMs: 5_000, scanEveryMs } }).start();
  const work = () => (actor.getSnapshot().value as { work: string }).work;
  const scanClock = () => (actor.getSnapshot().value as { scanClock: string }).scanClock;
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const finish = async (ok = true) => {
    const call = calls.at(-1);
    if (ok) call?.resolve();
    else call?.reject(new Error('venue down'));
    await settle();
  };
  return { clock, calls, actor, work, scanClock, finish };
}

describe('series repair machine', () => {
  it('loads first, then waits the grace period after a gap before it backfills', async () => {
    const h = harness(10_000);
    expect(h.work()).toBe('loading');
    await h.finish();
    expect(h.work()).toBe('idle');
    h.actor.send({ type: 'GAP' });
    expect(h.work()).toBe('grace');
    h.actor.send({ type: 'GAP' });
    h.clock.advance(1_499);
    expect(h.work()).toBe('grace');
    h.clock.advance(1);
    expect(h.work()).toBe('backfilling');
    await h.finish();
    expect(h.work()).toBe('idle');
    // Two gaps inside one grace period: one backfill.
    expect(h.calls.map((c) => c.job)).toEqual(['load', 'backfill']);
  });

  it('scans after min(firstScanMs, scanEvery), then every scanEvery, counted from the clock', async () => {
    const h = harness(10_000);
    await h.finish();
    h.clock.advance(5_000);
    expect(h.work()).toBe('scanning');
    await h.finish();
    h.clock.advance(9_999);
    expect(h.work()).toBe('idle');
    h.clock.advance(1);
    expect(h.work()).toBe('scanning');
    await h.finish();
    expect(h.calls.map((c) => [c.job, c.at])).toEqual([
      ['load', 0],
      ['scan', 5_000],
      ['scan', 15_000],
    ]);
    expect(h.actor.getSnapshot().context.scans).toBe(2);
  });

  it('never runs two jobs at once: a gap or a scan falling due while busy is done next', async () => {
    const h = harness(10_000);
    await h.finish();
    h.actor.send({ type: 'GAP' });
    h.clock.advance(1_500);
    expect(h.work()).toBe('backfilling');
    // The scan falls due (t = 5 s) while the backfill still runs, and another gap is found.
    h.clock.advance(4_000);
    h.actor.send({ type: 'GAP' });
    expect(h.work()).toBe('backfilling');
    await h.finish();
    expect(h.work()).toBe('scanning');
    await h.finish();
    expect(h.work()).toBe('grace');
    h.clock.advance(1_500);
    expect(h.calls.map((c) => c.job)).toEqual(['load', 'backfill', 'scan', 'backfill']);
  });

  it('backs off after a failure, doubling up to 16×, and retries the job that failed', async () => {
    const h = harness(undefined);
    await h.finish();
    h.actor.send({ type: 'GAP' });
    h.clock.advance(1_500);
    const retriesAt: number[] = [];
    for (let i = 0; i < 6; i++) {
      await h.finish(false);
      expect(h.work()).toBe('backingOff');
      const before = h.clock.now();
      while (h.work() === 'backingOff') h.clock.advance(50);
      retriesAt.push(h.clock.now() - before);
      expect(h.work()).toBe('backfilling');
    }
    expect(retriesAt).toEqual([100, 200, 400, 800, 1_600, 1_600]);
    expect(h.actor.getSnapshot().context.failures).toBe(6);
    await h.finish();
    expect(h.work()).toBe('idle');
    expect(h.actor.getSnapshot().context.failures).toBe(0);
  });

  it('retries a failed load or scan as itself', async () => {
    const h = harness(10_000);
    await h.finish(false);
    h.clock.advance(100);
    expect(h.work()).toBe('loading');
    await h.finish();
    h.clock.advance(5_000 - 100);
    expect(h.work()).toBe('scanning');
    await h.finish(false);
    h.clock.advance(100);
    expect(h.work()).toBe('scanning');
  });

  it('scans only while a plan names the series', async () => {
    const h = harness(undefined);
    await h.finish();
    expect(h.scanClock()).toBe('off');
    h.clock.advance(60_000);
    expect(h.work()).toBe('idle');
    h.actor.send({ type: 'SCHEDULE', scanEveryMs: 2_000 });
    expect(h.scanClock()).toBe('ticking');
    h.clock.advance(2_000);
    expect(h.work()).toBe('scanning');
    await h.finish();
    h.actor.send({ type: 'SCHEDULE', scanEveryMs: undefined });
    expect(h.scanClock()).toBe('off');
    h.clock.advance(60_000);
    expect(h.calls.filter((c) => c.job === 'scan')).toHaveLength(1);
  });
});
