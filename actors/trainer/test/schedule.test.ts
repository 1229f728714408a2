import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventMarketClock, ManualClock, parsePlan, parseSchedule, type Schedule } from '@kokex/core';
import { fitWindow, nextRunAt, RetrainScheduler, targetFromPlan, trainArguments, trainerConfigSchema } from '../src/index.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const next = (text: string, after: string) => iso(nextRunAt(parseSchedule(text) as Schedule, at(after)));
const DEMO_PLAN = resolve(__dirname, '../../../plans/demo.yaml');

describe('retrain schedules', () => {
  it('fires intervals at multiples of their length since the epoch, strictly after now', () => {
    expect(next('6h', '2026-03-04T05:59:59Z')).toBe('2026-03-04T06:00:00.000Z');
    expect(next('6h', '2026-03-04T06:00:00Z')).toBe('2026-03-04T12:00:00.000Z');
    expect(next('24h', '2026-03-04T23:30:00Z')).toBe('2026-03-05T00:00:00.000Z');
    expect(next('90s', '2026-03-04T00:00:00Z')).toBe('2026-03-04T00:01:30.000Z');
  });

  it('fires cron expressions at the next matching minute in UTC', () => {
    expect(next('0 3 * * *', '2026-03-04T02:59:00Z')).toBe('2026-03-04T03:00:00.000Z');
    expect(next('0 3 * * *', '2026-03-04T03:00:00Z')).toBe('2026-03-05T03:00:00.000Z');
    expect(next('*/15 * * * *', '2026-03-04T10:07:12Z')).toBe('2026-03-04T10:15:00.000Z');
    expect(next('5/20 * * * *', '2026-03-04T10:26:00Z')).toBe('2026-03-04T10:45:00.000Z');
    // 2026-03-06 is a Friday: the next weekday 02:30 after Friday evening is Monday.
    expect(next('30 2 * * 1-5', '2026-03-06T20:00:00Z')).toBe('2026-03-09T02:30:00.000Z');
    expect(next('0 0 1 JAN,JUL *', '2026-03-04T00:00:00Z')).toBe('2026-07-01T00:00:00.000Z');
    expect(next('0 12 * * SUN', '2026-03-04T00:00:00Z')).toBe('2026-03-08T12:00:00.000Z');
    expect(next('0 12 * * 7', '2026-03-04T00:00:00Z')).toBe('2026-03-08T12:00:00.000Z');
    expect(next('0 0 29 2 *', '2026-03-04T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('treats a restricted day of month and day of week as either, as cron does', () => {
    // The 13th of the month or any Friday: Friday 2026-03-06 comes first.
    expect(next('0 0 13 * FRI', '2026-03-04T00:00:00Z')).toBe('2026-03-06T00:00:00.000Z');
    expect(next('0 0 13 * FRI', '2026-03-11T00:00:00Z')).toBe('2026-03-13T00:00:00.000Z');
  });

  it('never fires an expression no date matches', () => {
    expect(next('0 0 31 2 *', '2026-03-04T00:00:00Z')).toBeUndefined();
  });

  it('fires each run once, in order, as a simulated clock moves', () => {
    const clock = new ManualClock(at('2026-03-04T00:30:00Z'));
    const fired: string[] = [];
    const scheduler = new RetrainScheduler(clock, (key, when) => fired.push(`${key}@${iso(when)?.slice(11, 16)}`));
    const invalid = scheduler.set(
      new Map([
        ['six-hourly', '6h'],
        ['nightly', '0 3 * * *'],
        ['broken', 'every day'],
      ]),
    );
    expect(invalid).toEqual(['broken']);
    expect(scheduler.upcoming().map((r) => `${r.key}@${iso(r.at)}`)).toEqual([
      'nightly@2026-03-04T03:00:00.000Z',
      'six-hourly@2026-03-04T06:00:00.000Z',
    ]);
    clock.advance(24 * 3_600_000);
    expect(fired).toEqual(['nightly@03:00', 'six-hourly@06:00', 'six-hourly@12:00', 'six-hourly@18:00', 'six-hourly@00:00']);
    // Replacing the schedules drops the old timers.
    scheduler.set(new Map([['nightly', '0 3 * * *']]));
    clock.advance(24 * 3_600_000);
    expect(fired.slice(5)).toEqual(['nightly@03:00']);
    scheduler.stop();
    expect(clock.pending).toBe(0);
  });

  it('waits out schedules longer than a timer can hold, in slices', () => {
    const clock = new ManualClock(at('2026-03-04T00:00:00Z'));
    const fired: number[] = [];
    const scheduler = new RetrainScheduler(clock, (_key, when) => fired.push(when));
    scheduler.set(new Map([['yearly', '0 0 1 JAN *']]));
    clock.advance(200 * 86_400_000);
    expect(fired).toEqual([]);
    clock.set(at('2027-01-01T00:00:00Z'));
    expect(fired.map(iso)).toEqual(['2027-01-01T00:00:00.000Z']);
  });
});

describe('retrain schedules at market time', () => {
  it('fires a replayed plan when its candles reach the fire time, never on the wall clock', () => {
    const wall = new ManualClock(at('2026-12-02T09:00:00Z'));
    const replay = new EventMarketClock();
    const fired: string[] = [];
    const scheduler = new RetrainScheduler(wall, (key, when) => fired.push(`${key}@${iso(when)}`));
    scheduler.set(new Map([['replayed', '6h']]), () => replay);
    wall.advance(48 * 3_600_000);
    expect(fired).toEqual([]);
    for (let m = 1; m <= 13 * 60; m++) {
      replay.observe(at('2016-01-01T00:00:00Z') + m * 60_000);
      scheduler.observe();
    }
    expect(fired).toEqual(['replayed@2016-01-01T06:00:00.000Z', 'replayed@2016-01-01T12:00:00.000Z']);
    expect(scheduler.upcoming().map((r) => iso(r.at))).toEqual(['2016-01-01T18:00:00.000Z']);
    expect(wall.pending).toBe(0);
  });
});

describe('training targets from plans', () => {
  it("derives the demo plan's target, fitting the window to the shipped model's context", () => {
    const target = targetFromPlan(parsePlan(readFileSync(DEMO_PLAN, 'utf8'), DEMO_PLAN));
    expect(target).toMatchObject({
      plan: 'demo',
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      tf: '1m',
      name: 'kronos',
      preset: 'shipped',
      maxAgeMs: 7 * 86_400_000,
      windowMs: 2 * 86_400_000,
      schedule: '24h',
      device: 'auto',
      lookback: 96,
      horizon: 24,
    });
    expect(fitWindow(96, 32, 128)).toEqual({ lookback: 96, horizon: 32 });
    expect(fitWindow(256, 64, 128)).toEqual({ lookback: 97, horizon: 32 });
  });

  it('builds the python -m kronos train arguments, letting host settings override the plan', () => {
    const target = targetFromPlan(parsePlan(readFileSync(DEMO_PLAN, 'utf8'), DEMO_PLAN));
    const settings = trainerConfigSchema.parse({
      training: { stepsPerEpoch: 2, epochs: 1, threads: 1, extraArgs: ['--tokenizer-lr', '3e-3'] },
    }).training;
    const args = trainArguments(target, settings, { csv: 'c.csv', run: 'run', export: 'out' });
    const flags = Object.fromEntries(args.slice(0, -2).flatMap((a, i, all) => (a.startsWith('--') ? [[a, all[i + 1]]] : [])));
    expect(flags).toMatchObject({
      '--csv': 'c.csv',
      '--model': 'tiny',
      '--lookback': '96',
      '--horizon': '24',
      '--holdout-frac': '0.1',
      '--tokenizer-epochs': '1',
      '--steps-per-epoch': '2',
      '--threads': '1',
      '--seed': '100',
    });
    expect(args.slice(-2)).toEqual(['--tokenizer-lr', '3e-3']);
  });
});
