import type { Schedule } from '../plan/schedule.js';
import type { Clock } from './clock.js';
import { nextScheduleFire } from './fire-times.js';
import { type MarketClock, MarketClockKind } from './market-clock.js';

/**
 * Fires plan schedules at market time, one entry per key (a plan, a plan's job). What "now" is
 * comes from each entry's `MarketClock`:
 *
 * - on a wall clock (live, demo, paper) an entry waits on timers of the injected `Clock`, as any
 *   timer does;
 * - on an event clock (a replay) it has no timer: the caller shows the clock a market event
 *   (`clock.observe(eventTime)`) and calls `check()`, and every entry whose fire time the clock has
 *   reached fires. A replay at 1×, 60× or in lockstep shows the same event times, so it fires the
 *   same slots at the same market times.
 *
 * When several slots are overdue at once (a long sleep, a gap in the data), the first one fires
 * once and the next is looked for from now: a late run acts once, not once per missed slot.
 */
export interface ScheduleEntry {
  key: string;
  schedule: Schedule;
  clock: MarketClock;
}

export interface UpcomingFire {
  key: string;
  schedule: string;
  at: number;
}

interface Armed extends ScheduleEntry {
  next: number | undefined;
  timer?: unknown;
}

/** Timers longer than this are split, because setTimeout overflows past ~24.8 days. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export class ScheduleTimers {
  readonly #entries = new Map<string, Armed>();
  #running = false;

  constructor(
    private readonly wall: Clock,
    private readonly onDue: (key: string, at: number) => void,
  ) {}

  /**
   * Replaces every entry. An entry whose key, schedule text and clock are unchanged keeps its next
   * fire time (a plan change elsewhere does not move it); the others look ahead from their now.
   */
  set(entries: Iterable<ScheduleEntry>): void {
    const previous = new Map(this.#entries);
    this.#clearTimers();
    this.#entries.clear();
    for (const e of entries) {
      const known = previous.get(e.key);
      const keep = known && known.schedule.text === e.schedule.text && known.clock === e.clock ? known.next : undefined;
      const now = e.clock.now();
      this.#entries.set(e.key, { ...e, next: keep ?? (now === undefined ? undefined : nextScheduleFire(e.schedule, now)) });
    }
    if (this.#running) this.#armAll();
  }

  /** Starts the wall timers (event entries need no start: `check()` drives them). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#armAll();
  }

  /** Stops the wall timers; entries stay, `start()` resumes them. */
  stop(): void {
    this.#running = false;
    this.#clearTimers();
  }

  /**
   * Fires every event-clock entry whose next fire time its clock has reached (call it after showing
   * a clock a market event). An entry whose clock had seen nothing before starts counting here.
   */
  check(): void {
    if (!this.#running) return;
    for (const e of this.#entries.values()) {
      if (e.clock.kind !== MarketClockKind.event) continue;
      const now = e.clock.now();
      if (now === undefined) continue;
      if (e.next === undefined) {
        e.next = nextScheduleFire(e.schedule, now);
        continue;
      }
      if (e.next > now) continue;
      const at = e.next;
      e.next = nextScheduleFire(e.schedule, Math.max(at, now));
      this.onDue(e.key, at);
    }
  }

  /** The next fire of each entry that has one, soonest first. */
  upcoming(): UpcomingFire[] {
    return [...this.#entries.values()]
      .flatMap((e) => (e.next === undefined ? [] : [{ key: e.key, schedule: e.schedule.text, at: e.next }]))
      .sort((a, b) => a.at - b.at || a.key.localeCompare(b.key));
  }

  #armAll(): void {
    for (const e of this.#entries.values()) if (e.clock.kind !== MarketClockKind.event) this.#arm(e);
  }

  #clearTimers(): void {
    for (const e of this.#entries.values()) {
      if (e.timer !== undefined) this.wall.clearTimeout(e.timer);
      e.timer = undefined;
    }
  }

  /** A wall-clock entry: a timer to its next fire, re-armed on the way for long waits. */
  #arm(e: Armed): void {
    if (e.timer !== undefined) this.wall.clearTimeout(e.timer);
    e.timer = undefined;
    if (e.next === undefined) return;
    const wait = (): void => {
      e.timer = undefined;
      if (!this.#running || this.#entries.get(e.key) !== e || e.next === undefined) return;
      const now = e.clock.now() ?? this.wall.now();
      const left = e.next - now;
      if (left > 0) {
        e.timer = this.wall.setTimeout(wait, Math.min(left, MAX_TIMER_MS));
        return;
      }
      const at = e.next;
      e.next = nextScheduleFire(e.schedule, Math.max(at, now));
      this.#arm(e);
      this.onDue(e.key, at);
    };
    wait();
  }
}
