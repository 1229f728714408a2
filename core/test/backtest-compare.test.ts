import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns, comparisonTable } from '../src/backtest/compare.js';
import { backtestFigures } from '../src/backtest/figures.js';
import { REPORT_SCHEMA } from '../src/backtest/report.js';

const MIN = 60_000;
let root: string;

/** A report as `kokex backtest` writes one, with figures computed from hand-made fills. */
function report(name: string, sellAt: number, reasons: Record<string, number>) {
  const bars = [100, 102, 104, 103].map((close, i) => ({ ts: i * MIN, close }));
  const f = backtestFigures({
    bars,
    fills: [
      { time: 10_000, side: 'buy', size: 1, price: 100, fee: 0.1 },
      { time: 130_000, side: 'sell', size: 1, price: sellAt, fee: 0.1 },
    ],
    capital: 1000,
    contractValue: 1,
    barMs: MIN,
  });
  const { equity: _e, roundTrips: _r, ...figures } = f;
  const total = Object.values(reasons).reduce((a, b) => a + b, 0);
  return {
    schema: REPORT_SCHEMA,
    plan: { name },
    window: { from: '1970-01-01T00:00:00.000Z', to: '1970-01-01T00:04:00.000Z' },
    provenance: { models: [`kronos@${name}`], seed: 1 },
    figures,
    verdicts: { total, approved: reasons.OK ?? 0, denied: total - (reasons.OK ?? 0), byReason: reasons },
    forecasts: { count: 4, tradeable: 0, skill: { model: { crps: 0.5, brier: 0.25 } } },
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kokex-bt-compare-'));
  for (const [dir, r] of [
    ['a', report('a', 104, { OK: 2 })],
    ['b', report('b', 101, { OK: 1, RATE_PER_MINUTE: 3 })],
  ] as const) {
    await mkdir(join(root, dir), { recursive: true });
    await writeFile(join(root, dir, 'report.json'), JSON.stringify(r));
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('kokex backtest compare', () => {
  it('puts the figures side by side with each run minus the first', async () => {
    const c = await compareRuns([join(root, 'a'), join(root, 'b', 'report.json')]);
    // a: +4 - 0.2 fees = 3.8; b: +1 - 0.2 = 0.8 (quote currency, on 1000 capital).
    expect(c.figures.endEquity).toEqual([1003.8, 1000.8]);
    expect(c.differences.endEquity).toEqual([0, -3]);
    expect(c.figures.fees).toEqual([0.2, 0.2]);
    expect(c.differences.fees).toEqual([0, 0]);
    // A reason only one run saw counts 0 in the other.
    expect(c.figures['verdicts.RATE_PER_MINUTE']).toEqual([0, 3]);
    expect(c.differences.denied).toEqual([0, 3]);
    expect(c.runs.map((r) => r.models[0])).toEqual(['kronos@a', 'kronos@b']);
    const table = comparisonTable(c);
    expect(table).toMatch(/endEquity\s+1003\.8000\s+1000\.8000\s+-3/);
    expect(table).toMatch(/verdicts\.RATE_PER_MINUTE\s+0\s+3\s+\+3/);
  });

  it('refuses one run, and a file that is not a report', async () => {
    await expect(compareRuns([join(root, 'a')])).rejects.toThrow('at least two runs');
    await writeFile(join(root, 'not.json'), '{"schema":"other"}');
    await expect(compareRuns([join(root, 'a'), join(root, 'not.json')])).rejects.toThrow(`schema "other", expected ${REPORT_SCHEMA}`);
  });
});
