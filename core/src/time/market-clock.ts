import type { Plan } from '../plan/schema.js';
import { type Clock, systemClock } from './clock.js';

/**
 * Market time: the time the data speaks for. Every decision (risk rates, cooldowns, data age,
 * model expiry, schedules, the agent's "now") reads a `MarketClock`; wall time (`Clock`) is for
 * infrastructure only (heartbeats, retries, timeouts, leases, latency figures).
 *
 * Live, market time is the wall clock: the venue's bars close on it. In a replay (the simulator, a
 * backtest) market time is whatever the data says: the clock moves forward to the newest event
 * time it has been shown and never back, so a replay at 60× or in lockstep sees the same minutes.
 */
export interface MarketClock {
  readonly kind: MarketClockKind;
  /** The current market time (ms). An event clock that has seen nothing answers `undefined`. */
  now(): number | undefined;
  /**
   * Shows the clock a market event's time (a candle's close, a venue timestamp, an envelope's
   * `eventTime`). An event clock moves forward to it; the wall clock ignores it.
   */
  observe(eventTime: number): void;
}

export const MarketClockKind = { wall: 'wall', event: 'event' } as const;
export type MarketClockKind = (typeof MarketClockKind)[keyof typeof MarketClockKind];

/** Live: market time is the wall clock. */
export function wallMarketClock(clock: Clock = systemClock): MarketClock {
  return { kind: MarketClockKind.wall, now: () => clock.now(), observe: () => undefined };
}

/** Replay: market time is the newest event time observed; it never goes back. */
export class EventMarketClock implements MarketClock {
  readonly kind = MarketClockKind.event;
  #now: number | undefined;

  constructor(start?: number) {
    this.#now = start;
  }

  now(): number | undefined {
    return this.#now;
  }

  observe(eventTime: number): void {
    if (!Number.isFinite(eventTime)) return;
    if (this.#now === undefined || eventTime > this.#now) this.#now = eventTime;
  }
}

/**
 * The market clock a venue mode runs on: `sim` (and a backtest) replays history, so its market
 * time is the data's; `live`, `demo` and `paper` trade the venue's present, so theirs is the wall
 * clock.
 */
export function marketClockFor(mode: string, clock: Clock = systemClock): MarketClock {
  return mode === 'sim' || mode === 'backtest' ? new EventMarketClock() : wallMarketClock(clock);
}

/**
 * The clock's market time, or `fallback` while an event clock has seen nothing yet (an actor that
 * must answer before the first market event of a replay: a chat, a start-up registration).
 */
export function marketNow(clock: MarketClock, fallback: number): number {
  return clock.now() ?? fallback;
}

/**
 * Market clocks by plan: one per plan, created on first use from the plan's venue mode. The host
 * hands each actor run one of these (`ActorContext.marketClocks`), as it hands it a `Clock`: an
 * actor shows its plan's clock each message's `eventTime` before deciding on it, and reads the
 * clock for every decision that depends on time. Each actor keeps its own, so an actor that is
 * ahead of another in a replay (the validator ahead of the inferencer) never moves the other's
 * market time: what an actor decides depends on the messages it has seen, not on how fast they came.
 */
export class MarketClocks {
  #clocks = new Map<string, { mode: string; clock: MarketClock }>();

  constructor(private readonly wall: Clock = systemClock) {}

  /** The plan's clock; a plan whose mode changed gets a fresh one of the new kind. */
  of(plan: string, mode: string): MarketClock {
    const known = this.#clocks.get(plan);
    if (known && known.mode === mode) return known.clock;
    const clock = marketClockFor(mode, this.wall);
    this.#clocks.set(plan, { mode, clock });
    return clock;
  }

  /** The plan's clock, by its name and venue mode. */
  forPlan(plan: Pick<Plan, 'metadata' | 'spec'>): MarketClock {
    return this.of(plan.metadata.name, plan.spec.venue.mode);
  }

  /** Shows the plan's clock a message's market time and answers the clock's time after it. */
  observe(plan: string, mode: string, eventTime: number): number {
    const clock = this.of(plan, mode);
    clock.observe(eventTime);
    return marketNow(clock, eventTime);
  }

  forget(plan: string): void {
    this.#clocks.delete(plan);
  }
}
