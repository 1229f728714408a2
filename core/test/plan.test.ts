import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { PlanInvalidError, PlanNotFoundError } from '../src/plan/errors.js';
import { loadPlanFile, parsePlan, parsePlans } from '../src/plan/load.js';

const fixturesDir = fileURLToPath(new URL('./fixtures/plans/', import.meta.url));
const demoPlanPath = fileURLToPath(new URL('../../plans/demo.yaml', import.meta.url));

/** Parses a fixture under the name `fixtures/plans/<name>` and returns the error it must raise. */
function failureOf(name: string): PlanInvalidError {
  const text = readFileSync(`${fixturesDir}${name}`, 'utf8');
  try {
    parsePlans(text, `fixtures/plans/${name}`);
  } catch (error) {
    if (error instanceof PlanInvalidError) return error;
    throw error;
  }
  throw new Error(`${name} validated but should not have`);
}

const MINIMAL_PLAN = `
apiVersion: kokex/v1
kind: Plan
metadata: { name: minimal }
spec:
  venue: { mode: paper }
  instrument: ETH-USDT
  timeframe: 1H
  risk: { maxNotional: 100, maxPositionNotional: 300, maxDailyLoss: 20 }
`;

describe('valid plans', () => {
  it('loads the demo plan: BTC-USDT-SWAP on okx in sim mode, 1m', async () => {
    const plan = await loadPlanFile(demoPlanPath);
    expect(plan.metadata.name).toBe('demo');
    expect(plan.spec.venue).toMatchObject({ name: 'okx', mode: 'sim' });
    expect(plan.spec.instrument).toBe('BTC-USDT-SWAP');
    expect(plan.spec.timeframe).toBe('1m');
    expect(plan.spec.risk).toMatchObject({ maxNotional: 1000, maxPositionNotional: 3000, maxDailyLoss: 150 });
    expect(plan.spec.model.retrain?.schedule).toBe('24h');
  });

  it('points editors at the JSON schema from the demo plan', () => {
    const firstLine = readFileSync(demoPlanPath, 'utf8').split('\n')[0];
    expect(firstLine).toBe('# yaml-language-server: $schema=../docs/plan.schema.json');
  });

  it('fills every default into a minimal plan', () => {
    const plan = parsePlan(MINIMAL_PLAN, 'minimal.yaml');
    expect(plan.spec.venue).toEqual({
      name: 'okx',
      mode: 'paper',
      sim: { speed: 60 },
      paper: { balance: 10_000, takerFee: 0.0005, makerFee: 0.0002, slippage: 0.0001 },
    });
    expect(plan.spec.data).toEqual({ window: '30d', sources: ['venue'], scanEvery: '6h' });
    expect(plan.spec.model).toEqual({ name: 'kronos', preset: 'shipped', maxAge: '7d' });
    expect(plan.spec.forecast).toMatchObject({
      lookback: 96,
      horizon: 24,
      paths: 32,
      quantiles: [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95],
      executionProviders: ['cpu'],
      skillGate: { enabled: true, window: 500, minScored: 100, metric: 'crps' },
      calibration: { probability: 'none', bands: 'none' },
    });
    expect(plan.spec.agent).toMatchObject({
      enabled: true,
      provider: 'offline-policy',
      triggers: ['auto_inference', 'order_event', 'manual_chat'],
      limits: { maxTurns: 6, maxToolCalls: 12, maxTokens: 8000, timeout: '2m' },
    });
    expect(plan.spec.agent.tools).toHaveLength(7);
    expect(plan.spec.risk).toMatchObject({
      maxDrawdown: 0.1,
      maxOpenOrders: 4,
      orderRate: { perMinute: 6, perHour: 60 },
      requireTradeableForecast: true,
      initialState: 'active',
    });
    expect(plan.spec.risk.allowInstruments).toBeUndefined();
  });

  it('reads several plans from one file separated by ---', () => {
    const text = readFileSync(`${fixturesDir}two-plans.yaml`, 'utf8');
    expect(parsePlans(text, 'two-plans.yaml').map((plan) => plan.metadata.name)).toEqual(['btc', 'eth']);
  });

  it('accepts cron schedules and a schedule for scheduled_decision', () => {
    const text = MINIMAL_PLAN.replace(
      '  risk:',
      `  model: { retrain: { schedule: "30 2 * * 1-5" } }
  agent: { triggers: [scheduled_decision], schedule: "0 */4 * * *" }
  risk:`,
    );
    const plan = parsePlan(text, 'cron.yaml');
    expect(plan.spec.model.retrain?.schedule).toBe('30 2 * * 1-5');
    expect(plan.spec.agent.schedule).toBe('0 */4 * * *');
  });
});

/** Each malformed fixture and the exact message it must produce, one line per issue. */
const MALFORMED: [fixture: string, message: string][] = [
  [
    'bad-yaml-syntax.yaml',
    'fixtures/plans/bad-yaml-syntax.yaml:12:3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
  ['duplicate-key.yaml', 'fixtures/plans/duplicate-key.yaml:10:3: invalid YAML: Map keys must be unique'],
  [
    'empty.yaml',
    'fixtures/plans/empty.yaml:1:1: expected a plan: a mapping with apiVersion, kind, metadata and spec, found an empty document',
  ],
  [
    'comments-only.yaml',
    'fixtures/plans/comments-only.yaml:1:1: expected a plan: a mapping with apiVersion, kind, metadata and spec, found an empty document',
  ],
  [
    'unknown-field-top.yaml',
    'fixtures/plans/unknown-field-top.yaml:6:1: labels: expected a known field (apiVersion, kind, metadata or spec), found unknown field "labels"',
  ],
  [
    'unknown-field-nested.yaml',
    'fixtures/plans/unknown-field-nested.yaml:11:5: spec.forecast.horizn: expected a known field (lookback, horizon, paths, every, temperature, topK, topP, seed, quantiles, executionProviders, skillGate or calibration), found unknown field "horizn"; did you mean "horizon"?',
  ],
  [
    'wrong-type.yaml',
    'fixtures/plans/wrong-type.yaml:10:12: spec.forecast.paths: expected an integer from 1 to 1024, found "many" (a string)',
  ],
  [
    'instrument-with-dot.yaml',
    `fixtures/plans/instrument-with-dot.yaml:8:15: spec.instrument: expected an instrument id without '.', '*', '>' or spaces, found "BTC.USDT"`,
  ],
  [
    'instrument-wildcard.yaml',
    `fixtures/plans/instrument-wildcard.yaml:8:15: spec.instrument: expected an instrument id without '.', '*', '>' or spaces, found "BTC-*"`,
  ],
  [
    'timeframe-lowercase.yaml',
    'fixtures/plans/timeframe-lowercase.yaml:9:14: spec.timeframe: expected one of 1s, 1m, 3m, 5m, 15m, 30m, 1H, 2H, 4H, 6H, 12H, 1D, 2D, 3D, 5D, 1W, 1M, 3M, 6Hutc, 12Hutc, 1Dutc, 2Dutc, 3Dutc, 5Dutc, 1Wutc, 1Mutc, 3Mutc, found "1h"; did you mean "1H"?',
  ],
  [
    'missing-risk.yaml',
    'fixtures/plans/missing-risk.yaml:6:1: spec.risk: expected a mapping with maxNotional, maxPositionNotional and maxDailyLoss, found nothing (required)',
  ],
  [
    'empty-risk.yaml',
    'fixtures/plans/empty-risk.yaml:10:3: spec.risk: expected a mapping with maxNotional, maxPositionNotional and maxDailyLoss, found an empty value',
  ],
  [
    'missing-name.yaml',
    `fixtures/plans/missing-name.yaml:3:1: metadata.name: expected a plan name (letters, digits, '-' and '_'), found nothing (required)`,
  ],
  ['wrong-api-version.yaml', 'fixtures/plans/wrong-api-version.yaml:2:13: apiVersion: expected "kokex/v1", found "kokex/v2"'],
  ['wrong-kind.yaml', 'fixtures/plans/wrong-kind.yaml:2:7: kind: expected "Plan", found "Strategy"'],
  [
    'negative-risk-limit.yaml',
    'fixtures/plans/negative-risk-limit.yaml:12:19: spec.risk.maxDailyLoss: expected a number greater than 0 and at most 1000000000000, found -150',
  ],
  [
    'quantile-out-of-range.yaml',
    'fixtures/plans/quantile-out-of-range.yaml:10:27: spec.forecast.quantiles[2]: expected a number greater than 0 and less than 1, found 1.5',
  ],
  [
    'probability-out-of-range.yaml',
    'fixtures/plans/probability-out-of-range.yaml:11:11: spec.forecast.topP: expected a number greater than 0 and at most 1, found 90',
  ],
  [
    'bad-schedule.yaml',
    'fixtures/plans/bad-schedule.yaml:11:17: spec.model.retrain.schedule: expected an interval such as 24h or a cron expression such as "0 */6 * * *", found "0 25 * * *" (hour 25 is outside 0-23)',
  ],
  [
    'scheduled-decision-without-schedule.yaml',
    'fixtures/plans/scheduled-decision-without-schedule.yaml:9:3: spec.agent.schedule: expected an interval or cron expression, since triggers include scheduled_decision, found nothing (required)',
  ],
  [
    'instrument-not-allowed.yaml',
    "fixtures/plans/instrument-not-allowed.yaml:13:23: spec.risk.allowInstruments: expected a list that includes the plan's instrument BTC-USDT-SWAP, found a list (BTC-USDT-SWAP is missing)",
  ],
  [
    'two-plans-same-name.yaml',
    'fixtures/plans/two-plans-same-name.yaml:15:9: metadata.name: expected a plan name not used earlier in the file, found "demo" (also on line 5)',
  ],
  [
    'many-errors.yaml',
    [
      `fixtures/plans/many-errors.yaml:5:9: metadata.name: expected a plan name without '.', '*', '>' or spaces, found "my plan"`,
      'fixtures/plans/many-errors.yaml:9:11: spec.venue.mode: expected one of sim, paper, demo, live, found "real"',
      'fixtures/plans/many-errors.yaml:11:14: spec.timeframe: expected one of 1s, 1m, 3m, 5m, 15m, 30m, 1H, 2H, 4H, 6H, 12H, 1D, 2D, 3D, 5D, 1W, 1M, 3M, 6Hutc, 12Hutc, 1Dutc, 2Dutc, 3Dutc, 5Dutc, 1Wutc, 1Mutc, 3Mutc, found "15min"; did you mean "15m"?',
      'fixtures/plans/many-errors.yaml:13:13: spec.data.window: expected a duration such as 90s, 15m, 24h, 7d or 2w, found "30 days" (unknown unit "days"; use s, m, h, d or w)',
      'fixtures/plans/many-errors.yaml:15:14: spec.forecast.horizon: expected an integer from 1 to 512, found 0',
      'fixtures/plans/many-errors.yaml:16:34: spec.forecast.quantiles[3]: expected a number greater than 0 and less than 1, found 1',
      'fixtures/plans/many-errors.yaml:18:38: spec.agent.tools[2]: expected each tool at most once, found "place_order" (also at [1])',
      'fixtures/plans/many-errors.yaml:20:17: spec.agent.limits.maxTurns: expected an integer greater than 0 and at most 100, found 2.5',
      'fixtures/plans/many-errors.yaml:21:3: spec.risk.maxDailyLoss: expected a number greater than 0 and at most 1000000000000, found nothing (required)',
      'fixtures/plans/many-errors.yaml:21:3: spec.risk.maxPositionNotional: expected a number greater than 0 and at most 1000000000000, found nothing (required)',
      'fixtures/plans/many-errors.yaml:22:18: spec.risk.maxNotional: expected a number greater than 0 and at most 1000000000000, found "1000" (a string)',
      'fixtures/plans/many-errors.yaml:23:18: spec.risk.maxDrawdown: expected a number greater than 0 and at most 1, found 15',
      'fixtures/plans/many-errors.yaml:24:5: spec.risk.stopLoss: expected a known field (maxNotional, maxPositionNotional, maxDailyLoss, maxDrawdown, maxOpenOrders, orderRate, priceBand, maxDataAgeBars, requireTradeableForecast, allowInstruments, lossStreak, intentTtl or initialState), found unknown field "stopLoss"',
    ].join('\n'),
  ],
];

describe('malformed plan files', () => {
  it.each(MALFORMED)('%s is rejected with its exact message', (fixture, message) => {
    const error = failureOf(fixture);
    expect(error.message).toBe(message);
    expect(error.code).toBe(ErrorCode.PlanInvalid);
    expect(error.issues.map((issue) => issue.message).join('\n')).toBe(message);
  });

  it('gives each issue its file, line, column, path, expected, found and suggestion', () => {
    const [issue] = failureOf('timeframe-lowercase.yaml').issues;
    expect(issue).toMatchObject({
      file: 'fixtures/plans/timeframe-lowercase.yaml',
      line: 9,
      column: 14,
      path: 'spec.timeframe',
      found: '"1h"',
      suggestion: '1H',
    });
    expect(issue?.expected).toMatch(/^one of 1s, 1m, .*, 1H, /);
  });

  it('locates a value, an unknown key and a missing field differently', () => {
    const issues = failureOf('many-errors.yaml').issues;
    const at = (path: string) => issues.find((issue) => issue.path === path);
    expect(at('spec.risk.maxNotional')).toMatchObject({ line: 22, column: 18 }); // the value
    expect(at('spec.risk.stopLoss')).toMatchObject({ line: 24, column: 5 }); // the unknown key
    expect(at('spec.risk.maxDailyLoss')).toMatchObject({ line: 21, column: 3 }); // the enclosing `risk:`
  });

  it('carries the issues in the error data, so they survive the trip over NATS', () => {
    const wire = failureOf('negative-risk-limit.yaml').toWire();
    expect(wire.code).toBe('KOKEX_PLAN_INVALID');
    expect(wire.data).toMatchObject({
      file: 'fixtures/plans/negative-risk-limit.yaml',
      issues: [{ line: 12, column: 19, path: 'spec.risk.maxDailyLoss', expected: 'a number greater than 0 and at most 1000000000000', found: '-150' }],
    });
  });

  it('refuses two plans where one is expected', () => {
    const text = readFileSync(`${fixturesDir}two-plans.yaml`, 'utf8');
    expect(() => parsePlan(text, 'two-plans.yaml')).toThrow('two-plans.yaml:11:1: expected one plan per file, found 2 documents');
  });

  it('names the file in the message when loading from disk', async () => {
    const path = `${fixturesDir}wrong-kind.yaml`;
    await expect(loadPlanFile(path)).rejects.toThrow(`${path}:2:7: kind: expected "Plan", found "Strategy"`);
  });

  it('reports a missing file as PlanNotFoundError naming the path', async () => {
    const path = `${fixturesDir}no-such-plan.yaml`;
    const error = await loadPlanFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PlanNotFoundError);
    expect(error).toMatchObject({ code: ErrorCode.PlanNotFound, path, message: `plan file ${path}: not found` });
  });

  it('reports a directory given as a plan file as PlanNotFoundError', async () => {
    await expect(loadPlanFile(fixturesDir)).rejects.toThrow(`plan file ${fixturesDir}: is a directory, not a file`);
  });
});
