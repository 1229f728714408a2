import { describe, expect, it } from 'vitest';
import {
  describeScheduleProblem,
  EventMarketClock,
  ManualClock,
  nextScheduleFire,
  parseSchedule,
  type Schedule,
  ScheduleTimers,
  wallMarketClock,
} from '../src/index.js';

const MIN = 60_000;
const T0 = Date.UTC(2016, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);
const schedule = (text: string) => parseSchedule(text) as Schedule;

/** Replays `bars` one-minute closes into an event clock, calling check() after each (as an actor does per candle). */
function replay(closes: readonly number[], texts: readonly string[]) {
  const wall = new ManualClock(Date.UTC(2026, 11, 2));
  const clock = new EventMarketClock();
  const fired: string[] = [];
  const timers = new ScheduleTimers(wall, (key, at) => fired.push(`${key}@${iso(at)}`));
  timers.set(texts.map((t) => ({ key: t, schedule: schedule(t), clock })));
  timers.start();
  for (const close of closes) {
    clock.observe(close);
    timers.check();
  }
  return { fired, wall, timers };
}

describe('schedules at market time', () => {
  const twoDays = Array.from({ length: 2 * 1440 }, (_, i) => T0 + (i + 1) * MIN);

  it('fires a replayed plan on the data’s minutes: intervals and cron alike, and no wall timer at all', () => {
    const { fired, wall } = replay(twoDays, ['6h', '30 2 * * *']);
    expect(fired).toEqual([
      '30 2 * * *@2016-01-01T02:30',
      '6h@2016-01-01T06:00',
      '6h@2016-01-01T12:00',
      '6h@2016-01-01T18:00',
      '6h@2016-01-02T00:00',
      '30 2 * * *@2016-01-02T02:30',
      '6h@2016-01-02T06:00',
      '6h@2016-01-02T12:00',
      '6h@2016-01-02T18:00',
      '6h@2016-01-03T00:00',
    ]);
    expect(wall.pending).toBe(0);
  });

  it('fires the same slots whether bars come one at a time or in bursts, and never twice for a repeated or older time', () => {
    const slow = replay(twoDays, ['6h', '30 2 * * *']).fired;
    // A fast replay: the clock is shown bars in bursts (several closes between checks), repeats and all.
    const wall = new ManualClock(0);
    const clock = new EventMarketClock();
    const fast: string[] = [];
    const timers = new ScheduleTimers(wall, (key, at) => fast.push(`${key}@${iso(at)}`));
    timers.set(['6h', '30 2 * * *'].map((t) => ({ key: t, schedule: schedule(t), clock })));
    timers.start();
    clock.observe(twoDays[0] as number);
    timers.check();
    for (let i = 1; i < twoDays.length; i += 7) {
      for (const close of twoDays.slice(i, i + 7)) clock.observe(close);
      clock.observe(twoDays[i] as number); // an older time changes nothing
      timers.check();
      timers.check();
    }
    expect(fast).toEqual(slow);
  });

  it('fires once for a gap that skips several slots, then looks ahead from the new time', () => {
    const { fired } = replay([T0 + MIN, T0 + 13 * 60 * MIN, T0 + 13 * 60 * MIN + MIN, T0 + 18 * 60 * MIN], ['6h']);
    expect(fired).toEqual(['6h@2016-01-01T06:00', '6h@2016-01-01T18:00']);
  });

  it('keeps wall-clock entries on timers of the injected clock', () => {
    const wall = new ManualClock(Date.UTC(2026, 0, 1, 0, 30));
    const fired: string[] = [];
    const timers = new ScheduleTimers(wall, (key, at) => fired.push(`${key}@${iso(at)}`));
    timers.set([{ key: 'six', schedule: schedule('6h'), clock: wallMarketClock(wall) }]);
    timers.start();
    timers.start();
    wall.advance(12 * 60 * MIN);
    expect(fired).toEqual(['six@2026-01-01T06:00', 'six@2026-01-01T12:00']);
    expect(wall.pending).toBe(1);
    timers.stop();
    expect(wall.pending).toBe(0);
  });

  it('validates what croner evaluates: a step beyond its field is no schedule, a numeric start is one', () => {
    expect(describeScheduleProblem('*/90 * * * *')).toMatch(/steps cannot be greater/);
    expect(parseSchedule('*/90 * * * *')).toBeUndefined();
    expect(iso(nextScheduleFire(schedule('5/20 * * * *'), Date.UTC(2026, 2, 4, 10, 26)) as number)).toBe('2026-03-04T10:45');
  });
});
