import { type Bus, Streams } from '@kokex/core';
import { eventually } from '@kokex/core/testing';
import type { OkxSimulator, SimFaults } from '@kokex/plugin-okx-sim';
import { expect } from 'vitest';
import { MIN, minuteBars, type Pipeline, type pipelineSuite, seriesShape, startPipeline } from './support.js';

/** The fault matrix: every test replays this many bars after a window of history. */
export const REPLAY_BARS = 5000;
export const HISTORY_BARS = 120;

export interface QualityReportSeen {
  trigger: string;
  gapsFound: number;
  filled: number;
  backfilled: number;
  missing: number;
  outOfOrder: number;
  duplicates: number;
  rejected: number;
}

export interface FaultReplay {
  pipeline: Pipeline;
  sim: OkxSimulator;
  /** Feed counters of the 1m series. */
  feed: { published: number; duplicates: number; fetched: number };
  feedVenue: { resubscribes: number };
  feedErrors: Record<string, number>;
  /** Quality reports of the series, oldest first. */
  reports: QualityReportSeen[];
}

async function qualityReports(bus: Bus, inst: string): Promise<QualityReportSeen[]> {
  const out: QualityReportSeen[] = [];
  const info = await bus.jsm.streams.info(Streams.quality);
  const stream = await bus.js.streams.get(Streams.quality);
  const subject = `kokex.md.quality.okx.${inst}.1m`;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await stream.getMessage({ seq }).catch(() => null);
    if (!m || m.subject !== subject) continue;
    const data = m.json<{ data: QualityReportSeen & { kind: string } }>().data;
    if (data.kind === 'report') out.push(data);
  }
  return out;
}

/**
 * Replays REPLAY_BARS bars through simulator → feed → validator with the faults on, then turns
 * them off and waits until the series holds every bar: the validator's scans repair the tail
 * (a lost last push has nothing after it to reveal the hole).
 */
export async function runFaultReplay(bus: Bus, inst: string, faults: Partial<SimFaults>): Promise<FaultReplay> {
  const { bars } = await minuteBars(HISTORY_BARS + REPLAY_BARS + 10);
  // The window covers the whole replay: the validator's scans then watch every bar of it.
  const window = `${HISTORY_BARS + REPLAY_BARS + 60}m`;
  const pipeline = await startPipeline({ bus, inst, bars, historyBars: HISTORY_BARS, window, scanEvery: '1s' });
  pipeline.sim.setFaults(faults);
  await pipeline.replay(REPLAY_BARS);
  pipeline.sim.setFaults({
    skipPushes: 0,
    duplicatePushes: 0,
    reorderPushes: 0,
    malformedFrames: 0,
    malformedBodies: 0,
    rateLimit50011: 0,
    slowResponseMs: 0,
    dropEveryBars: 0,
    noticeEveryBars: 0,
  });
  await pipeline.stored(HISTORY_BARS + REPLAY_BARS, 40_000);
  // The last report must have seen the final state: wait for a scan report with nothing missing.
  await eventually(
    async () => {
      const last = (await qualityReports(bus, inst)).at(-1);
      return last?.trigger === 'scan' && last.missing === 0;
    },
    10_000,
    200,
  );
  const feedDetail = pipeline.feedDetail();
  return {
    pipeline,
    sim: pipeline.sim,
    feed: feedDetail.series.find((s) => s.id === `okx:${inst}:1m`) as FaultReplay['feed'],
    feedVenue: feedDetail.venues[0] as FaultReplay['feedVenue'],
    feedErrors: feedDetail.errors,
    reports: await qualityReports(bus, inst),
  };
}

/** The stream holds exactly the window plus the replay: every bar once, no gap, and each actor still running. */
export async function expectGapFreeReplay(bus: Bus, r: FaultReplay): Promise<void> {
  const shape = await seriesShape(bus, r.pipeline.key);
  expect(shape).toMatchObject({
    count: HISTORY_BARS + REPLAY_BARS,
    messages: HISTORY_BARS + REPLAY_BARS,
    unique: HISTORY_BARS + REPLAY_BARS,
    gaps: 0,
    first: r.pipeline.startAt - HISTORY_BARS * MIN,
    last: r.pipeline.startAt + (REPLAY_BARS - 1) * MIN,
  });
  for (const inst of r.pipeline.host.instances()) expect(inst.state).toBe('running');
}

/** A fault-matrix case: the replay under `faults`, its pipeline registered for clean-up, the stream checked. */
export async function replayUnderFaults(
  suite: ReturnType<typeof pipelineSuite>,
  inst: string,
  faults: Partial<SimFaults>,
): Promise<FaultReplay> {
  const result = await runFaultReplay(suite.bus, inst, faults);
  suite.use(result.pipeline);
  await expectGapFreeReplay(suite.bus, result);
  return result;
}
