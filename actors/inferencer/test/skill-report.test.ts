import type { PlanForecast } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import {
  emptyRecord,
  formatSkillReport,
  meanInterval,
  reliability,
  type ScoredForecast,
  skillReport,
  stepCoverage,
  wilson,
  withScored,
} from '../src/index.js';

/** The `kokex skill` report on hand-made records (numbers worked out beside each case). */
const GATE: PlanForecast['skillGate'] = {
  enabled: true,
  window: 10,
  minScored: 3,
  metric: 'crps',
  baselines: ['persistence', 'random-walk'],
  margin: 0.02,
  significance: 0.05,
};
const KEY = { model: 'kronos', version: 'abcdef0123456789', inst: 'BTC-USDT-SWAP', tf: '1H' };

function entry(asOf: number, crps: number, pUp: number, up: 0 | 1, bandSteps: string): ScoredForecast {
  const m = (c: number) => ({ crps: c, mae: c, brier: 0.25, hit: 0.5 });
  return {
    asOf,
    pUpRaw: pUp,
    pUp,
    up,
    model: m(crps),
    cover80: 0.8,
    cover90: 0.9,
    bandSteps,
    expected80: 0.8,
    expected90: 0.9,
    baselines: { persistence: m(0.05), 'random-walk': m(0.04) },
    conformal: [1, 1, 1],
  };
}

describe('skill report', () => {
  it('means carry a 95% interval from the HAC standard error (lag 0: the population std over √n)', () => {
    const i = meanInterval([0.01, 0.02, 0.03, 0.04], 0);
    expect(i.mean).toBeCloseTo(0.025, 15);
    expect(i.low).toBeCloseTo(0.014043468242792732, 12);
    expect(i.high).toBeCloseTo(0.03595653175720727, 12);
    // Positively correlated neighbours widen it.
    const runs = [0.01, 0.01, 0.03, 0.03, 0.01, 0.01, 0.03, 0.03];
    expect(meanInterval(runs, 1).high - meanInterval(runs, 1).low).toBeGreaterThan(meanInterval(runs, 0).high - meanInterval(runs, 0).low);
  });

  it('reliability bins the published P(up) with Wilson intervals', () => {
    expect(wilson(1, 4).low).toBeCloseTo(0.04558726080970055, 12);
    expect(wilson(1, 4).high).toBeCloseTo(0.6993581574175981, 12);
    const entries = [
      ...[1, 0, 0, 0].map((up, i) => entry(i, 0.03, 0.05, up as 0 | 1, '222')),
      ...[1, 1, 1, 0].map((up, i) => entry(10 + i, 0.03, i === 3 ? 1 : 0.95, up as 0 | 1, '222')),
    ];
    const bins = reliability(entries);
    expect(bins.map((b) => [b.from, b.count, b.observed.mean])).toEqual([
      [0, 4, 0.25],
      [0.9, 4, 0.75],
    ]);
    expect(bins[0]?.stated).toBeCloseTo(0.05, 15);
    expect(bins[1]?.stated).toBeCloseTo((0.95 * 3 + 1) / 4, 15); // P(up) = 1 falls in the last bin
  });

  it('coverage per step counts where each step fell, for the records that kept it', () => {
    const entries = [
      entry(1, 0.03, 0.5, 1, '210'),
      entry(2, 0.03, 0.5, 1, '220'),
      entry(3, 0.03, 0.5, 1, '100'),
      entry(4, 0.03, 0.5, 1, '22'),
    ];
    const steps = stepCoverage(entries, 3);
    expect(steps.map((s) => [s.step, s.count, s.coverage80, s.coverage90])).toEqual([
      [1, 3, 2 / 3, 1],
      [2, 3, 1 / 3, 2 / 3],
      [3, 3, 0, 0],
    ]);
  });

  it('puts scores, reliability, coverage and the gate in one report, and prints it', () => {
    const entries = Array.from({ length: 6 }, (_, i) =>
      entry(i, 0.03 + (i % 2 ? 0.002 : -0.002), i % 2 ? 0.7 : 0.3, (i % 2) as 0 | 1, '221'),
    );
    const record = withScored(emptyRecord(KEY, 10), entries, 10, 1);
    const report = skillReport(record, { skillGate: GATE, horizon: 3, every: 1 });
    expect(report).toMatchObject({
      model: 'kronos',
      inst: 'BTC-USDT-SWAP',
      scored: 6,
      lag: 2,
      expectedCoverage80: expect.closeTo(0.8, 12),
    });
    expect(report.metrics.map((m) => m.metric)).toEqual(['crps', 'brier', 'mae', 'hit-rate']);
    expect(report.metrics[0]?.model.mean).toBeCloseTo(0.03, 15);
    expect(report.metrics[0]?.baselines['random-walk']?.mean).toBeCloseTo(0.04, 15);
    expect(report.summary.test?.lag).toBe(2);
    expect(report.steps.map((s) => s.coverage90)).toEqual([1, 1, 1]);
    const text = formatSkillReport(report, 'demo');
    expect(text).toMatch(
      /^BTC-USDT-SWAP 1H · plan demo · model kronos abcdef012345 · 6 forecasts scored of a 10-forecast window · overlap lag 2/,
    );
    expect(text).toContain(`tradeable: ${report.summary.tradeable ? 'YES' : 'NO'}: ${report.summary.reason}`);
    expect(text).toMatch(/gate: Diebold–Mariano, margin 2\.0%, significance 5\.0%, p /);
    expect(text).toMatch(/METRIC +MODEL +PERSISTENCE +RANDOM-WALK\ncrps +0\.03 \[/);
    expect(text).toMatch(/P\(UP\) BIN +FORECASTS +STATED +ROSE +95% INTERVAL\n0\.3-0\.4 +3 +30\.0% +0\.0%/);
    expect(text).toMatch(/STEP +FORECASTS +80% BAND +90% BAND\n1 +6 +100\.0% +100\.0%\n2 +6 +100\.0% +100\.0%\n3 +6 +0\.0% +100\.0%/);
    expect(formatSkillReport(skillReport(emptyRecord(KEY, 10), { skillGate: GATE, horizon: 3, every: 1 }), 'demo')).toMatch(
      /no forecast of this version has been scored yet$/,
    );
  });
});
