import type { CronFields, Schedule } from '@kokex/core';

/**
 * Fire times of a plan schedule (parsed by core's `parseSchedule`). Intervals fire at the
 * multiples of their length since the Unix epoch, so every replica and every restart agrees on
 * them without stored state (`6h`: 00:00, 06:00, 12:00, 18:00 UTC). Cron expressions fire at the
 * UTC minutes they match; with both day fields restricted, a day matching either fires (Vixie
 * cron). The search walks forward field by field: a month that does not match skips to the next
 * month, a day to the next day, an hour to the next hour.
 */
const MINUTE = 60_000;
/** Every calendar pattern repeats within 28 years (leap days included): a longer search finds nothing new. */
const HORIZON_MS = 28 * 366 * 86_400_000;

interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
}

const SPECS: FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** One field as a membership table; a field starting with a star (every value, or every nth) does not restrict the day rule. */
function allowed(text: string, spec: FieldSpec): { values: boolean[]; restricted: boolean } {
  const values = new Array<boolean>(spec.max + 1).fill(false);
  const value = (t: string) => (/^\d+$/.test(t) ? Number(t) : (spec.names?.indexOf(t.toUpperCase()) ?? -1) + spec.min);
  for (const item of text.split(',')) {
    const [range = '*', stepText] = item.split('/');
    const step = Number(stepText ?? 1);
    const [lo, hi] =
      range === '*'
        ? [spec.min, spec.max]
        : range.includes('-')
          ? range.split('-').map(value)
          : [value(range), stepText ? spec.max : value(range)];
    for (let v = lo as number; v <= (hi as number); v += step) values[v] = true;
  }
  return { values, restricted: !text.startsWith('*') };
}

export interface CronTable {
  minute: boolean[];
  hour: boolean[];
  dayOfMonth: boolean[];
  month: boolean[];
  /** 0 = Sunday; 7 is folded into 0. */
  dayOfWeek: boolean[];
  domRestricted: boolean;
  dowRestricted: boolean;
}

export function cronTable(fields: CronFields): CronTable {
  const [minute, hour, dom, month, dow] = fields.map((f, i) => allowed(f, SPECS[i] as FieldSpec));
  const dayOfWeek = (dow?.values ?? []).slice(0, 7);
  if (dow?.values[7]) dayOfWeek[0] = true;
  return {
    minute: minute?.values ?? [],
    hour: hour?.values ?? [],
    dayOfMonth: dom?.values ?? [],
    month: month?.values ?? [],
    dayOfWeek,
    domRestricted: dom?.restricted ?? false,
    dowRestricted: dow?.restricted ?? false,
  };
}

function dayFires(t: CronTable, d: Date): boolean {
  const byDate = t.dayOfMonth[d.getUTCDate()] === true;
  const byWeekday = t.dayOfWeek[d.getUTCDay()] === true;
  return t.domRestricted && t.dowRestricted ? byDate || byWeekday : byDate && byWeekday;
}

/** The first matching minute strictly after `after`; undefined when none ever comes (`0 0 31 2 *`). */
export function nextCronFire(fields: CronFields, after: number): number | undefined {
  const t = cronTable(fields);
  let at = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const end = after + HORIZON_MS;
  while (at <= end) {
    const d = new Date(at);
    if (!t.month[d.getUTCMonth() + 1]) at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    else if (!dayFires(t, d)) at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    else if (!t.hour[d.getUTCHours()]) at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
    else if (!t.minute[d.getUTCMinutes()]) at += MINUTE;
    else return at;
  }
  return undefined;
}

/** The next fire time of a schedule strictly after `after`. */
export function nextFire(schedule: Schedule, after: number): number | undefined {
  return schedule.kind === 'interval'
    ? (Math.floor(after / schedule.everyMs) + 1) * schedule.everyMs
    : nextCronFire(schedule.fields, after);
}
