import { parsePlan, parseSchedule, type Schedule } from '@kokex/core';
import { createActor, fromPromise, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { type ChainContext, chainMachine, jobsFromPlan, nextFire } from '../src/index.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const next = (text: string, after: string) => iso(nextFire(parseSchedule(text) as Schedule, at(after)));

describe('fire times', () => {
  it('fires intervals on their multiples since the epoch, the same on every replica', () => {
    expect(next('6h', '2026-01-05T07:30:00Z')).toBe('2026-01-05T12:00:00.000Z');
    expect(next('15m', '2026-01-05T07:45:00Z')).toBe('2026-01-05T08:00:00.000Z');
    expect(next('90s', '2026-01-05T00:00:00Z')).toBe('2026-01-05T00:01:30.000Z');
  });

  it('fires cron expressions at the UTC minutes they match', () => {
    expect(next('*/15 * * * *', '2026-01-05T07:31:10Z')).toBe('2026-01-05T07:45:00.000Z');
    expect(next('0 3 * * *', '2026-01-05T03:00:00Z')).toBe('2026-01-06T03:00:00.000Z');
    // 2026-01-09 is a Friday: the next weekday 02:30 is Monday the 12th.
    expect(next('30 2 * * 1-5', '2026-01-09T03:00:00Z')).toBe('2026-01-12T02:30:00.000Z');
    expect(next('0 0 1 JAN,JUL *', '2026-01-05T00:00:00Z')).toBe('2026-07-01T00:00:00.000Z');
    expect(next('0 12 * * SUN', '2026-01-05T00:00:00Z')).toBe('2026-01-11T12:00:00.000Z');
    expect(next('0 12 * * 7', '2026-01-05T00:00:00Z')).toBe('2026-01-11T12:00:00.000Z');
  });

  it('treats day-of-month and day-of-week as either-or when both are restricted, and finds 29 February', () => {
    // The 13th or any Friday: Friday the 9th comes first.
    expect(next('0 0 13 * 5', '2026-01-05T00:00:00Z')).toBe('2026-01-09T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 31 2 *', '2026-01-01T00:00:00Z')).toBeUndefined();
  });
});

describe('jobs from plans', () => {
  const plan = (agent: string, retrain = '') =>
    parsePlan(
      `apiVersion: kokex/v1
kind: Plan
metadata: { name: p1 }
spec:
  venue: { mode: sim }
  instrument: BTC-USDT-SWAP
  timeframe: 1H
${retrain ? `  model: { retrain: { schedule: "${retrain}" } }\n` : ''}  agent: ${agent}
  risk: { maxNotional: 1, maxPositionNotional: 1, maxDailyLoss: 1 }`,
      'p1.yaml',
    );

  it('schedules a retrain chain, and a decision chain only for agents that take scheduled decisions', () => {
    expect(jobsFromPlan(plan('{ triggers: [auto_inference] }', '24h'))).toMatchObject([
      { plan: 'p1', job: 'retrain', schedule: '24h', from: 'train', decide: false, inst: 'BTC-USDT-SWAP', tf: '1H' },
    ]);
    expect(jobsFromPlan(plan('{ triggers: [scheduled_decision], schedule: "0 * * * *", limits: { timeout: 30s } }'))).toEqual([
      expect.objectContaining({ job: 'decide', schedule: '0 * * * *', from: 'infer', decide: true, decisionWindowMs: 30_000 }),
    ]);
    expect(jobsFromPlan(plan('{ enabled: false, triggers: [scheduled_decision], schedule: 1h }'))).toEqual([]);
  });
});

describe('the chain machine', () => {
  const run = (from: 'train' | 'infer' | 'decide', decide: boolean, failAt?: string) => {
    const done: string[] = [];
    const work = (name: string) =>
      fromPromise<Record<string, unknown>, ChainContext>(async () => {
        if (name === failAt) throw Object.assign(new Error(`${name} broke`), { code: 'SCHED_TEST' });
        done.push(name);
        return { by: name };
      });
    const actor = createActor(
      chainMachine.provide({ actors: { train: work('train'), infer: work('infer'), decide: work('decide'), execute: work('execute') } }),
      {
        input: { from, decide },
      },
    );
    actor.start();
    return toPromise(actor).then(() => ({ done, snapshot: actor.getSnapshot() }));
  };

  it('runs the stages from the job’s first one, in order, passing details on', async () => {
    const { done, snapshot } = await run('train', true);
    expect(done).toEqual(['train', 'infer', 'decide', 'execute']);
    expect(snapshot.value).toBe('done');
    expect(snapshot.context.details.infer).toEqual({ by: 'infer' });
    expect(snapshot.context.stages).toEqual({ train: 'done', infer: 'done', decide: 'done', execute: 'done' });
  });

  it('skips decide and execute when the agent takes no scheduled decisions', async () => {
    const { done, snapshot } = await run('infer', false);
    expect(done).toEqual(['infer']);
    expect(snapshot.context.stages).toEqual({ train: 'skipped', infer: 'done', decide: 'skipped', execute: 'skipped' });
  });

  it('ends at a failed stage with its error; the stages after it are skipped', async () => {
    const { done, snapshot } = await run('train', true, 'infer');
    expect(done).toEqual(['train']);
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.stages).toEqual({ train: 'done', infer: 'failed', decide: 'skipped', execute: 'skipped' });
    expect(snapshot.context.error).toEqual({ stage: 'infer', code: 'SCHED_TEST', message: 'infer broke' });
  });
});
