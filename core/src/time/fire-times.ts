import { Cron } from 'croner';
import type { Schedule } from '../plan/schedule.js';

/**
 * Fire times of a plan schedule (parsed by `parseSchedule`), as pure functions of a time: the
 * caller says what "now" is, so the scheduler and the trainer evaluate them at market time (the
 * plan's `MarketClock`) and a replay fires on the data's minutes, not the machine's.
 *
 * - An interval (`24h`, `6h`) fires at the multiples of its length since the Unix epoch (UTC), as
 *   bar boundaries do: every replica and every restart computes the same times without stored state.
 * - A cron expression (five fields, UTC) is evaluated by `croner`; with both day-of-month and
 *   day-of-week restricted, a day matching either fires (what cron has always done).
 */
const cache = new Map<string, Cron>();

function cronOf(text: string): Cron {
  let cron = cache.get(text);
  if (!cron) {
    cron = new Cron(text, { timezone: 'UTC', paused: true, domAndDow: false, mode: '5-part', sloppyRanges: true });
    cache.set(text, cron);
  }
  return cron;
}

/**
 * Why croner cannot evaluate a five-field cron expression (`*\/90` in minutes: a step beyond the
 * field), or undefined when it can. Plan validation asks it last, so what validates also runs.
 */
export function cronProblem(text: string): string | undefined {
  try {
    cronOf(text);
    return undefined;
  } catch (err) {
    return String((err as Error).message ?? err).replace(/^CronPattern: /, '');
  }
}

/** The first fire time strictly after `after`; undefined when none ever comes (`0 0 31 2 *`). */
export function nextScheduleFire(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'interval') return (Math.floor(after / schedule.everyMs) + 1) * schedule.everyMs;
  // croner counts from the next whole second; a fire is always on a whole minute, so flooring
  // `after` to its second loses nothing and keeps "strictly after".
  const next = cronOf(schedule.text).nextRun(new Date(Math.floor(after / 1000) * 1000));
  return next ? next.getTime() : undefined;
}

/**
 * The fire times in `(from, to]`, oldest first, at most `limit` of them: what fell due while market
 * time moved from `from` to `to` (one bar of a replay may cross several).
 */
export function scheduleFiresBetween(schedule: Schedule, from: number, to: number, limit = 1_000): number[] {
  const out: number[] = [];
  let at = nextScheduleFire(schedule, from);
  while (at !== undefined && at <= to && out.length < limit) {
    out.push(at);
    at = nextScheduleFire(schedule, at);
  }
  return out;
}
