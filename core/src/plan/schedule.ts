/**
 * Durations and schedules as plans write them. Pure parsing, no clocks: the scheduler turns a
 * parsed schedule into fire times later.
 *
 * A duration is a whole number and one unit: `s`, `m` (minutes), `h`, `d` or `w`, e.g. `90s`,
 * `15m`, `24h`, `7d`. Units are lower case on purpose: OKX bar names (`1m`, `1H`, `1M`) are
 * timeframes, not durations, and `1M` (a month) has no fixed length.
 *
 * A schedule is either such a duration (an interval: "every 24h") or a five-field cron expression
 * (`minute hour day-of-month month day-of-week`, UTC), e.g. `30 2 * * 1-5` (02:30 on weekdays).
 */

import { cronProblem } from '../time/fire-times.js';

export const DURATION_PATTERN = /^([1-9][0-9]*)(s|m|h|d|w)$/;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/** Milliseconds in a duration such as `24h`, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
}

/** Why `text` is not a duration, for error messages; undefined when it is one. */
export function describeDurationProblem(text: string): string | undefined {
  if (DURATION_PATTERN.test(text)) return undefined;
  const match = /^\s*([0-9.]+)\s*([A-Za-z]+)\s*$/.exec(text);
  if (!match) return 'not a number followed by a unit';
  const [, amount = '', unit = ''] = match;
  if (!/^[1-9][0-9]*$/.test(amount)) return 'the amount must be a whole number above 0';
  if (unit in UNIT_MS) return 'no spaces allowed';
  if (unit.toLowerCase() in UNIT_MS) return `units are lower case (${amount}${unit.toLowerCase()})`;
  return `unknown unit "${unit}"; use s, m, h, d or w`;
}

/** minute, hour, day of month, month, day of week. */
export type CronFields = [string, string, string, string, string];

export type Schedule = { kind: 'interval'; text: string; everyMs: number } | { kind: 'cron'; text: string; fields: CronFields };

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names accepted instead of numbers (JAN = 1, SUN = 0), index + min is the number. */
  names?: readonly string[];
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // 7 is Sunday as well, as in most cron implementations.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

function cronValue(text: string, field: CronField): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return index < 0 ? undefined : index + field.min;
}

function describeCronFieldProblem(text: string, field: CronField): string | undefined {
  for (const part of text.split(',')) {
    const match = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/([0-9]+))?$/.exec(part);
    if (!match) return `${field.name} "${part}" is not a value, range, list or step`;
    const [, base = '', step] = match;
    if (step !== undefined && Number(step) === 0) return `${field.name} step in "${part}" is 0`;
    if (base === '*') continue;
    const bounds = base.split('-').map((value) => cronValue(value, field));
    for (const value of bounds) {
      if (value === undefined) return `${field.name} "${part}" has an unknown value`;
      if (value < field.min || value > field.max) {
        return `${field.name} ${value} is outside ${field.min}-${field.max}`;
      }
    }
    const [from = 0, to = from] = bounds as number[];
    if (from > to) return `${field.name} range "${part}" runs backwards`;
  }
  return undefined;
}

/** Why `text` is not a cron expression or an interval; undefined when it is one. */
export function describeScheduleProblem(text: string): string | undefined {
  if (DURATION_PATTERN.test(text)) return undefined;
  const fields = text.trim().split(/\s+/);
  if (fields.length === 1) return `not an interval: ${describeDurationProblem(text)}`;
  if (fields.length !== CRON_FIELDS.length) {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), this has ${fields.length}`;
  }
  for (const [index, field] of CRON_FIELDS.entries()) {
    const problem = describeCronFieldProblem(fields[index] ?? '', field);
    if (problem) return problem;
  }
  // Fire times are croner's (core/src/time/fire-times.ts): what it cannot evaluate is no schedule.
  return cronProblem(text);
}

/** A schedule as data, or undefined when the text is neither an interval nor a cron expression. */
export function parseSchedule(text: string): Schedule | undefined {
  const everyMs = parseDuration(text);
  if (everyMs !== undefined) return { kind: 'interval', text, everyMs };
  if (describeScheduleProblem(text) !== undefined) return undefined;
  return { kind: 'cron', text, fields: text.trim().split(/\s+/) as CronFields };
}
