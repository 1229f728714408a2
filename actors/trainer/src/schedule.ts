import { type Clock, type CronFields, parseSchedule, type Schedule } from '@kokex/core';

/**
 * When a plan's retrain schedule fires. Core parses a schedule (`parseSchedule`); this turns it
 * into fire times on an injected clock.
 *
 * - An interval (`24h`, `6h`) fires at the multiples of its length since the Unix epoch (UTC), as
 *   bar boundaries do: `24h` at 00:00 UTC, `6h` at 00:00, 06:00, 12:00 and 18:00. Every replica and
 *   every restart computes the same times without stored state, and the lease picks one trainer.
 * - A cron expression fires at the minutes it matches, in UTC. When both day-of-month and
 *   day-of-week are restricted a day matching either fires (what cron has always done).
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Searching further than this finds nothing new: every calendar pattern repeats within 28 years, Feb 29 included. */
const CRON_SEARCH_DAYS = 366 * 28;
/** Timers longer than this are split, because setTimeout overflows past ~24.8 days. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

interface CronFieldRange {
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const RANGES: readonly CronFieldRange[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 7, names: DAY_NAMES },
];

/** A cron expression as sets of allowed values. */
export interface CronMatcher {
  minutes: number[];
  hours: number[];
  daysOfMonth: Set<number>;
  months: Set<number>;
  /** 0 = Sunday (7 is folded into 0). */
  daysOfWeek: Set<number>;
  /** Whether day-of-month / day-of-week were restricted (not `*`). */
  domRestricted: boolean;
  dowRestricted: boolean;
}

function cronNumber(text: string, range: CronFieldRange): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const index = range.names?.indexOf(text.toUpperCase() as never) ?? -1;
  // parseSchedule has already validated the expression, so an unknown name cannot reach here.
  return index + range.min;
}

function expandField(text: string, range: CronFieldRange): number[] {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [base = '*', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = range.min;
    let to = range.max;
    if (base !== '*') {
      const [a = '', b] = base.split('-');
      from = cronNumber(a, range);
      // `5/15` means from 5 to the end in steps of 15; a bare `5` means 5 alone.
      to = b !== undefined ? cronNumber(b, range) : stepText !== undefined ? range.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((x, y) => x - y);
}

export function cronMatcher(fields: CronFields): CronMatcher {
  const [, , dom, , dow] = fields;
  const expanded = fields.map((f, i) => expandField(f, RANGES[i] as CronFieldRange));
  return {
    minutes: expanded[0] ?? [],
    hours: expanded[1] ?? [],
    daysOfMonth: new Set(expanded[2]),
    months: new Set(expanded[3]),
    daysOfWeek: new Set((expanded[4] ?? []).map((d) => d % 7)),
    // As in Vixie cron, a field that starts with `*` (`*`, `*/2`) does not restrict the day.
    domRestricted: !dom.startsWith('*'),
    dowRestricted: !dow.startsWith('*'),
  };
}

function dayMatches(m: CronMatcher, day: Date): boolean {
  if (!m.months.has(day.getUTCMonth() + 1)) return false;
  const dom = m.daysOfMonth.has(day.getUTCDate());
  const dow = m.daysOfWeek.has(day.getUTCDay());
  if (m.domRestricted && m.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first minute strictly after `after` that the cron expression matches (UTC), or undefined when none ever does (`0 0 31 2 *`). */
export function nextCronRun(fields: CronFields, after: number): number | undefined {
  const m = cronMatcher(fields);
  const startDay = Math.floor(after / DAY_MS) * DAY_MS;
  for (let d = 0; d <= CRON_SEARCH_DAYS; d++) {
    const dayStart = startDay + d * DAY_MS;
    if (!dayMatches(m, new Date(dayStart))) continue;
    for (const h of m.hours) {
      // Skip whole hours already past.
      if (dayStart + (h + 1) * 3_600_000 <= after) continue;
      for (const min of m.minutes) {
        const at = dayStart + h * 3_600_000 + min * MINUTE_MS;
        if (at > after) return at;
      }
    }
  }
  return undefined;
}

/** The next fire time strictly after `after`. */
export function nextRunAt(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'interval') return (Math.floor(after / schedule.everyMs) + 1) * schedule.everyMs;
  return nextCronRun(schedule.fields, after);
}

/** A schedule's text as parsed data; undefined when it is not a valid schedule (plans validate them, so only hand-written configs reach this). */
export function scheduleOf(text: string): Schedule | undefined {
  return parseSchedule(text);
}

export interface ScheduledRun {
  key: string;
  schedule: string;
  at: number;
}

/**
 * Keeps one timer per scheduled key on the injected clock and calls `onDue(key, at)` at each fire
 * time. Pure timing: what a run does is the caller's business. With a `ManualClock`, advancing
 * time fires every run that falls due, in order, exactly once each.
 */
export class RetrainScheduler {
  readonly #clock: Clock;
  readonly #onDue: (key: string, at: number) => void;
  readonly #timers = new Map<string, unknown>();
  readonly #next = new Map<string, ScheduledRun>();

  constructor(clock: Clock, onDue: (key: string, at: number) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Replaces every schedule: `entries` maps a key to its schedule text. Invalid texts are skipped and returned. */
  set(entries: ReadonlyMap<string, string>): string[] {
    this.stop();
    const invalid: string[] = [];
    for (const [key, text] of entries) {
      const schedule = scheduleOf(text);
      if (!schedule) invalid.push(key);
      else this.#arm(key, schedule, this.#clock.now());
    }
    return invalid;
  }

  stop(): void {
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.#next.clear();
  }

  /** Upcoming runs, soonest first. */
  upcoming(): ScheduledRun[] {
    return [...this.#next.values()].sort((a, b) => a.at - b.at);
  }

  #arm(key: string, schedule: Schedule, after: number): void {
    const at = nextRunAt(schedule, after);
    if (at === undefined) return;
    this.#next.set(key, { key, schedule: schedule.text, at });
    const wait = (): void => {
      const left = at - this.#clock.now();
      if (left > 0) {
        this.#timers.set(key, this.#clock.setTimeout(wait, Math.min(left, MAX_TIMER_MS)));
        return;
      }
      // After a long sleep (a suspended laptop) several runs may be overdue: fire once, then look
      // ahead from now, not from the missed time.
      this.#arm(key, schedule, Math.max(at, this.#clock.now()));
      this.#onDue(key, at);
    };
    wait();
  }
}
