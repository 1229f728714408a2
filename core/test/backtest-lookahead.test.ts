import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BacktestReport } from '../src/backtest/report.js';
import { HISTORY_BARS, RUN_T0, walkBars, writeData } from './fixtures/backtest-data.js';
import { backtest } from './backtest-support.js';

/**
 * No look-ahead: two runs whose data differs only from bar T on (another random walk from the same
 * price) must agree on every forecast, decision, verdict and fill before T. Market time: a forecast
 * of the bar before T is stamped at T (that bar's close) and saw nothing of T; a fill before T was
 * matched at a price before T.
 */
const REPLAY = 8;
const CHANGED_AFTER = 4;
let root: string | undefined;

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function before(r: BacktestReport, t: number) {
  return {
    bars: r.series.bars.filter((b) => b[0] < t),
    forecasts: r.series.forecasts.filter((f) => f[0] < t),
    skill: r.series.skill.filter((s) => s[0] < t),
    decisions: r.decisionList.filter((d) => d.time <= t),
    verdicts: r.verdictList.filter((v) => v.time <= t),
    fills: r.fills.filter((f) => f.time < t),
  };
}

describe('kokex backtest has no look-ahead', () => {
  it('changing every bar from T on changes nothing before T', { timeout: 240_000 }, async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-bt-look-'));
    const total = HISTORY_BARS + REPLAY;
    const split = HISTORY_BARS + CHANGED_AFTER;
    const original = walkBars({ start: RUN_T0, count: total, price: 43_000, seed: 21 });
    const head = original.slice(0, split);
    const lastClose = Number((head[head.length - 1] as string).split(',')[4]);
    const changedTail = walkBars({ start: RUN_T0 + split * 60_000, count: total - split, price: lastClose, seed: 99 });
    await writeData(join(root, 'a'), 'okx_BTC-USDT-SWAP_1m_2026-01.csv', original);
    await writeData(join(root, 'b'), 'okx_BTC-USDT-SWAP_1m_2026-01.csv', [...head, ...changedTail]);
    const from = RUN_T0 + HISTORY_BARS * 60_000;
    const to = from + REPLAY * 60_000;
    const t = RUN_T0 + split * 60_000;
    const a = (await backtest({ root: join(root, 'run-a'), dataDir: join(root, 'a'), from, to })).report;
    const b = (await backtest({ root: join(root, 'run-b'), dataDir: join(root, 'b'), from, to })).report;
    const pa = before(a, t);
    // The comparison covers something: bars, forecasts and decisions before T.
    expect(pa.bars).toHaveLength(CHANGED_AFTER);
    expect(pa.forecasts.length).toBeGreaterThanOrEqual(CHANGED_AFTER);
    expect(pa.decisions.length).toBeGreaterThanOrEqual(CHANGED_AFTER);
    expect(before(b, t)).toEqual(pa);
    // And the change did reach the runs after T (so the test could fail).
    expect(b.series.bars.filter((x) => x[0] >= t)).not.toEqual(a.series.bars.filter((x) => x[0] >= t));
    expect(b.series.forecasts.filter((x) => x[0] >= t)).not.toEqual(a.series.forecasts.filter((x) => x[0] >= t));
  });
});
