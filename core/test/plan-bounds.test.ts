import { describe, expect, it } from 'vitest';
import { PlanInvalidError } from '../src/plan/errors.js';
import { parsePlan } from '../src/plan/load.js';

/** A valid paper plan with one line of risk (or venue) swapped in. */
function planWith({ risk = 'maxNotional: 100, maxPositionNotional: 300, maxDailyLoss: 20', venue = '{ mode: paper }', agent = '' } = {}) {
  return `apiVersion: kokex/v1
kind: Plan
metadata: { name: bounds }
spec:
  venue: ${venue}
  instrument: ETH-USDT
  timeframe: 1H
  risk: { ${risk} }
${agent}`;
}

function issuesOf(text: string): ReadonlyArray<{ path: string; line: number; message: string }> {
  try {
    parsePlan(text, 'bounds.yaml');
  } catch (err) {
    if (err instanceof PlanInvalidError) return err.issues;
    throw err;
  }
  return [];
}

describe('plans that make no sense are refused', () => {
  it('accepts the sane baseline', () => {
    expect(issuesOf(planWith())).toEqual([]);
  });

  it.each([
    ['maxDailyLoss: .inf', 'spec.risk.maxDailyLoss'],
    ['maxDailyLoss: 1e308', 'spec.risk.maxDailyLoss'],
    ['maxNotional: 1e308, maxPositionNotional: 1e308, maxDailyLoss: 20', 'spec.risk.maxNotional'],
    ['maxNotional: .nan, maxPositionNotional: 300, maxDailyLoss: 20', 'spec.risk.maxNotional'],
    ['maxOpenOrders: 1e15', 'spec.risk.maxOpenOrders'],
    ['maxDataAgeBars: 1e9', 'spec.risk.maxDataAgeBars'],
    ['orderRate: { perMinute: 100, perHour: 50 }', 'spec.risk.orderRate.perMinute'],
    ['maxNotional: 700, maxPositionNotional: 300, maxDailyLoss: 20', 'spec.risk.maxNotional'],
    ['lossStreak: { losses: 1e12, cooldown: 1h }', 'spec.risk.lossStreak.losses'],
  ])('risk %s is refused at %s', (risk, path) => {
    const base = 'maxNotional: 100, maxPositionNotional: 300, maxDailyLoss: 20';
    const line = risk.startsWith('maxNotional') ? risk : risk.startsWith('maxDailyLoss') ? `maxNotional: 100, maxPositionNotional: 300, ${risk}` : `${base}, ${risk}`;
    const issues = issuesOf(planWith({ risk: line }));
    expect(issues.map((i) => i.path)).toContain(path);
    // Positioned at the offending value (line 8 holds the risk mapping).
    expect(issues.find((i) => i.path === path)?.line).toBe(8);
  });

  it.each([
    ['{ mode: sim, sim: { speed: .inf } }', 'spec.venue.sim.speed'],
    ['{ mode: paper, paper: { balance: 1e300 } }', 'spec.venue.paper.balance'],
  ])('venue %s is refused at %s', (venue, path) => {
    expect(issuesOf(planWith({ venue })).map((i) => i.path)).toContain(path);
  });

  it('says what is wrong with a contradiction, not only where', () => {
    const [issue] = issuesOf(planWith({ risk: 'maxNotional: 100, maxPositionNotional: 300, maxDailyLoss: 20, orderRate: { perMinute: 100, perHour: 50 }' }));
    expect(issue?.message).toBe(
      'bounds.yaml:8:97: spec.risk.orderRate.perMinute: expected at most perHour (50), found 100 (a minute may not allow more orders than the hour; lower perMinute or raise perHour)',
    );
  });

  it('bounds the agent budget too', () => {
    expect(issuesOf(planWith({ agent: '  agent: { limits: { maxTurns: 1e9 } }' })).map((i) => i.path)).toContain('spec.agent.limits.maxTurns');
  });
});
