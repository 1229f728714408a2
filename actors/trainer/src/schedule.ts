import {
  type Clock,
  type MarketClock,
  nextScheduleFire,
  parseSchedule,
  type Schedule,
  ScheduleTimers,
  type UpcomingFire,
  wallMarketClock,
} from '@kokex/core';

/**
 * When a plan's retrain schedule fires, at the plan's market time. Core parses a schedule
 * (`parseSchedule`) and computes its fire times (`nextScheduleFire`, cron expressions by croner);
 * this keeps one entry per plan on core's `ScheduleTimers`.
 *
 * - An interval (`24h`, `6h`) fires at the multiples of its length since the Unix epoch (UTC), as
 *   bar boundaries do: `24h` at 00:00 UTC, `6h` at 00:00, 06:00, 12:00 and 18:00. Every replica and
 *   every restart computes the same times without stored state, and the lease picks one trainer.
 * - A cron expression fires at the minutes it matches, in UTC. When both day-of-month and
 *   day-of-week are restricted a day matching either fires (what cron has always done).
 * - Live, the plan's market clock is the wall clock and a timer waits for the fire time. In a
 *   replay it is the data's time: the trainer shows it each candle of the plan (`observe`), and a
 *   fire time the candles reach fires, however fast they come.
 */

/** The next fire time strictly after `after`. */
export function nextRunAt(schedule: Schedule, after: number): number | undefined {
  return nextScheduleFire(schedule, after);
}

/** A schedule's text as parsed data; undefined when it is not a valid schedule (plans validate them, so only hand-written configs reach this). */
export function scheduleOf(text: string): Schedule | undefined {
  return parseSchedule(text);
}

export type ScheduledRun = UpcomingFire;

/**
 * Keeps one schedule per key (a plan) and calls `onDue(key, at)` at each fire time, on the key's
 * market clock (default: the wall clock, `clock`). Pure timing: what a run does is the caller's
 * business. With a `ManualClock`, advancing time fires every run that falls due, in order, exactly
 * once each; with an event clock, `observe()` after each market event does.
 */
export class RetrainScheduler {
  readonly #timers: ScheduleTimers;
  readonly #wall: MarketClock;

  constructor(clock: Clock, onDue: (key: string, at: number) => void) {
    this.#timers = new ScheduleTimers(clock, onDue);
    this.#wall = wallMarketClock(clock);
  }

  /**
   * Replaces every schedule: `entries` maps a key to its schedule text, `clockOf` a key to its
   * market clock. Invalid texts are skipped and returned.
   */
  set(entries: ReadonlyMap<string, string>, clockOf: (key: string) => MarketClock = () => this.#wall): string[] {
    const invalid: string[] = [];
    const valid = [];
    for (const [key, text] of entries) {
      const schedule = scheduleOf(text);
      if (!schedule) invalid.push(key);
      else valid.push({ key, schedule, clock: clockOf(key) });
    }
    this.#timers.set(valid);
    this.#timers.start();
    return invalid;
  }

  /** A market event was shown to an event clock: fire what its time reached. */
  observe(): void {
    this.#timers.check();
  }

  stop(): void {
    this.#timers.stop();
    this.#timers.set([]);
  }

  /** Upcoming runs, soonest first. */
  upcoming(): ScheduledRun[] {
    return this.#timers.upcoming();
  }
}
