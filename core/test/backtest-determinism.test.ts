import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HISTORY_BARS, RUN_T0, walkBars, writeData } from './fixtures/backtest-data.js';
import { backtest } from './backtest-support.js';

/**
 * Same plan, data and seed: the same report.json, byte for byte. Two full runs of the plan's own
 * actors (feed, validator, inferencer on the shipped model, agent on the offline policy, risk guard,
 * executor) against the OKX simulator in lockstep, each on its own nats-server.
 */
const REPLAY = 8;
let root: string | undefined;

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('kokex backtest is deterministic', () => {
  it('writes byte-identical report.json on two runs, and the run traded', { timeout: 240_000 }, async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-bt-det-'));
    const dataDir = join(root, 'data');
    await writeData(
      dataDir,
      'okx_BTC-USDT-SWAP_1m_2026-01.csv',
      walkBars({ start: RUN_T0, count: HISTORY_BARS + REPLAY, price: 43_000, seed: 11 }),
    );
    const from = RUN_T0 + HISTORY_BARS * 60_000;
    const to = from + REPLAY * 60_000;
    const a = await backtest({ root: join(root, 'a'), dataDir, from, to });
    const b = await backtest({ root: join(root, 'b'), dataDir, from, to });
    // Not a report of nothing: every bar replayed, a forecast per bar, decisions and fills.
    expect(a.report.window).toMatchObject({ bars: REPLAY, replayed: REPLAY, partial: false });
    expect(a.report.series.bars).toHaveLength(REPLAY);
    expect(a.report.forecasts.count).toBeGreaterThanOrEqual(REPLAY);
    expect(a.report.decisions.conversations).toBeGreaterThanOrEqual(REPLAY);
    expect(a.report.fills.length).toBeGreaterThan(0);
    expect(a.report.provenance.models.length).toBe(1);
    // No wall time and no temporary path anywhere in the report.
    expect(a.json).not.toContain(root);
    expect(a.json).not.toMatch(/computeMs|receivedAt/);
    expect(b.json).toBe(a.json);
  });
});
