import type { SimFaults } from '@kokex/plugin-okx-sim';
import { describe, expect, it } from 'vitest';
import { REPLAY_BARS, replayUnderFaults } from './fault-replay.js';
import { pipelineSuite } from './support.js';

/** Push faults: the venue's candle pushes go missing, come twice, or come out of order. */
const suite = pipelineSuite();

const run = (inst: string, faults: Partial<SimFaults>) => replayUnderFaults(suite, inst, faults);

describe(`a ${REPLAY_BARS.toLocaleString('en-US')}-bar replay ends gap-free and duplicate-free`, () => {
  it('with pushes skipped: the validator finds the holes and backfills them', async () => {
    const { sim, reports } = await run('SKIP-USDT', { skipPushes: 0.03 });
    expect(sim.stats().pushesSkipped).toBeGreaterThan(100);
    const last = reports.at(-1);
    expect(last?.gapsFound).toBeGreaterThan(20);
    expect(last?.filled).toBe(last?.gapsFound);
    expect(last?.backfilled).toBeGreaterThan(0);
  });

  it('with pushes duplicated: each bar stored once', async () => {
    const { sim, feed } = await run('DUP-USDT', { duplicatePushes: 0.05 });
    expect(sim.stats().pushesDuplicated).toBeGreaterThan(100);
    expect(feed.duplicates).toBeGreaterThan(50);
  });

  it('with pushes reordered: late bars fill their holes without a REST call', async () => {
    const { sim, reports } = await run('REORDER-USDT', { reorderPushes: 0.05 });
    expect(sim.stats().pushesReordered).toBeGreaterThan(100);
    const last = reports.at(-1);
    expect(last?.outOfOrder).toBeGreaterThan(50);
    expect(last?.filled).toBe(last?.gapsFound);
    // A held-back push arrives one bar later, well inside the validator's grace period.
    expect(last?.backfilled).toBeLessThan((last?.gapsFound ?? 0) / 2);
  });
});
