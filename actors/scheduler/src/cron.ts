import { nextScheduleFire, type Schedule } from '@kokex/core';

/**
 * Fire times of a plan schedule (parsed by core's `parseSchedule`), computed by core's
 * `nextScheduleFire` (cron expressions by croner): intervals fire at the multiples of their length
 * since the Unix epoch, so every replica and every restart agrees on them without stored state
 * (`6h`: 00:00, 06:00, 12:00, 18:00 UTC); cron expressions fire at the UTC minutes they match, and
 * with both day fields restricted a day matching either fires (Vixie cron). The scheduler asks it
 * at its plan's market time.
 */

/** The next fire time of a schedule strictly after `after`. */
export function nextFire(schedule: Schedule, after: number): number | undefined {
  return nextScheduleFire(schedule, after);
}
