import { describe, expect, it } from 'vitest';
import { describeScheduleProblem, parseDuration, parseSchedule } from '../src/plan/schedule.js';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '0h', '1.5h', '24H', '1M', '3 days', 'h', '-1h'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('schedules', () => {
  it('reads an interval', () => {
    expect(parseSchedule('6h')).toEqual({ kind: 'interval', text: '6h', everyMs: 21_600_000 });
  });

  it.each(['0 */6 * * *', '30 2 * * 1-5', '0 0 1 JAN,JUL *', '*/15 9-17 * * MON-FRI', '0 0 * * 7'])(
    'reads the cron expression %j',
    (text) => {
      expect(parseSchedule(text)).toMatchObject({ kind: 'cron', text });
    },
  );

  it.each([
    ['0 25 * * *', 'hour 25 is outside 0-23'],
    ['60 * * * *', 'minute 60 is outside 0-59'],
    ['0 0 0 * *', 'day of month 0 is outside 1-31'],
    ['0 0 * FOO *', 'month "FOO" has an unknown value'],
    ['*/0 * * * *', 'minute step in "*/0" is 0'],
    ['0 10-2 * * *', 'hour range "10-2" runs backwards'],
    ['0 0 * *', 'a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has 4'],
    ['0 0 * * * *', 'a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has 6'],
    ['daily', 'not an interval: not a number followed by a unit'],
    ['24H', 'not an interval: units are lower case (24h)'],
  ])('refuses %j: %s', (text, problem) => {
    expect(describeScheduleProblem(text)).toBe(problem);
    expect(parseSchedule(text)).toBeUndefined();
  });
});
