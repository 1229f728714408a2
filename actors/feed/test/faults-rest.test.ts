import { freePort } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { describe, expect, it } from 'vitest';
import { REPLAY_BARS, replayUnderFaults } from './fault-replay.js';
import { MIN, minuteBars, pipelineSuite, seriesShape, startPipeline } from './support.js';

/** REST faults (the catch-ups and backfills go through them), and the venue going away entirely. */
const extraSims: OkxSimulator[] = [];
const suite = pipelineSuite(async () => {
  for (const sim of extraSims.splice(0)) await sim.stop();
});

describe(`a ${REPLAY_BARS.toLocaleString('en-US')}-bar replay with REST faults ends gap-free and duplicate-free`, () => {
  it('with 50011 rate-limit answers on 30% of REST calls (connection dropped every 500 bars, 1% pushes skipped)', async () => {
    const result = await replayUnderFaults(suite, 'LIMIT-USDT', { rateLimit50011: 0.3, dropEveryBars: 500, skipPushes: 0.01 });
    // How many REST calls a replay makes depends on timing (catch-ups per reconnect, backfills), so
    // the count of 50011 answers varies run to run: assert the fault fired and calls still got through.
    const { restRejected, restRequests } = result.sim.stats();
    expect(restRejected).toBeGreaterThan(0);
    expect(restRejected).toBeLessThan(restRequests);
    expect(result.sim.stats().drops).toBeGreaterThanOrEqual(9);
    expect(result.feedVenue.resubscribes).toBeGreaterThanOrEqual(9);
    expect(result.reports.at(-1)?.backfilled).toBeGreaterThan(0);
  });

  it('with every REST answer 150 ms slow (connection dropped every 500 bars, 1% pushes skipped)', async () => {
    const result = await replayUnderFaults(suite, 'SLOW-USDT', { slowResponseMs: 150, dropEveryBars: 500, skipPushes: 0.01 });
    expect(result.feed.fetched).toBeGreaterThan(120);
  });
});

describe('the feed survives the venue being killed and restarted', () => {
  it('reconnects to a new simulator on the same port and fetches the bars it missed while it was gone', async () => {
    const { bars } = await minuteBars(2000);
    const port = await freePort();
    // A window longer than the outage: what the venue produced meanwhile is history the feed must fetch.
    const p = suite.use(
      await startPipeline({ bus: suite.bus, inst: 'RESTART-USDT', bars, historyBars: 60, window: '1d', port, withValidator: false }),
    );
    await p.replay(500);
    const goneAt = p.sim.now();
    await p.sim.stop();
    // Down for a while: reconnects fail, the feed keeps trying.
    await new Promise((r) => setTimeout(r, 600));
    expect(p.feed().state).toBe('running');
    // The venue comes back 300 bars later (a new process: it knows nothing of the old one's clients).
    const back = new OkxSimulator({ data: bars, startAt: goneAt + 300 * MIN, instId: 'RESTART-USDT', idleTimeoutMs: 0 });
    extraSims.push(back);
    await back.start({ port });
    await eventually(() => (p.feedDetail().venues[0]?.resubscribes ?? 0) >= 1, 10_000);
    for (let i = 0; i < 500; i += 50) {
      back.stepBars(50);
      await new Promise((r) => setTimeout(r, 5));
    }
    const total = 60 + 500 + 300 + 500;
    await p.stored(total);
    const shape = await seriesShape(suite.bus, p.key, p.family);
    expect(shape).toMatchObject({ count: total, messages: total, gaps: 0, first: p.startAt - 60 * MIN });
    expect(p.feed()).toMatchObject({ state: 'running', attempts: 0 });
  });
});
