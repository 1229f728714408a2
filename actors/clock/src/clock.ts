import {
  type ActorContext,
  type ActorLogic,
  barOpen,
  ClockTickContract,
  defineActorKind,
  isTimeframe,
  nextBarOpen,
  subject,
  subjectFilter,
  TIMEFRAMES,
  timeframeToken,
} from '@kokex/core';
import { z } from 'zod';

/**
 * Emits one tick per bar boundary of every timeframe the active plans use, on
 * `kokex.clock.tick.{tf}`. Ticks carry the message id `clock:{tf}:{boundary}`, so replicas of this
 * actor may all fire and JetStream keeps one tick per boundary. The scheduler and candle-close
 * triggers build on these ticks.
 */
export const clockConfigSchema = z
  .object({
    /** Timeframes to tick besides those in the plans. */
    timeframes: z.array(timeframeToken).default([]),
  })
  .strict();
export type ClockConfig = z.infer<typeof clockConfigSchema>;

/** Timers longer than this are split, because setTimeout overflows past ~24.8 days. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export function timeframesOf(config: ClockConfig): string[] {
  const order = new Map<string, number>(TIMEFRAMES.map((tf, i) => [tf, i]));
  return [...new Set(config.timeframes)].filter(isTimeframe).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
}

export function createClockLogic(ctx: ActorContext<ClockConfig>): ActorLogic<ClockConfig> {
  let config = ctx.config;
  const timers = new Map<string, unknown>();
  const nextAt = new Map<string, number>();
  let ticks = 0;
  let lastTick: { tf: string; boundary: number } | undefined;

  const schedule = (tf: string) => {
    const now = ctx.clock.now();
    const boundary = nextBarOpen(now, tf);
    nextAt.set(tf, boundary);
    const wait = Math.min(boundary - now, MAX_TIMER_MS);
    timers.set(
      tf,
      ctx.clock.setTimeout(() => {
        if (ctx.clock.now() < boundary) return schedule(tf);
        void fire(tf, boundary);
        schedule(tf);
      }, wait),
    );
  };

  const fire = async (tf: string, boundary: number) => {
    // The bar that closes at `boundary` is the one holding the millisecond before it.
    const closedBarOpen = barOpen(boundary - 1, tf);
    const lateMs = ctx.clock.now() - boundary;
    try {
      await ctx.bus.publish(
        ClockTickContract,
        subject('clockTick', { tf }),
        { tf, barOpen: closedBarOpen, boundary, lateMs },
        { id: `clock:${tf}:${boundary}`, source: ctx.instanceId, time: ctx.clock.now() },
      );
      ticks++;
      lastTick = { tf, boundary };
    } catch (err) {
      // A lost tick is logged, not fatal: the next boundary fires on its own timer.
      ctx.log.warn({ err, tf, boundary }, 'tick not published');
    }
  };

  const startAll = () => {
    for (const tf of timeframesOf(config)) schedule(tf);
    ctx.log.info({ timeframes: timeframesOf(config) }, 'clock ticking');
  };
  const stopAll = () => {
    for (const t of timers.values()) ctx.clock.clearTimeout(t);
    timers.clear();
    nextAt.clear();
  };

  return {
    start: startAll,
    pause: stopAll,
    resume: startAll,
    stop: stopAll,
    reconfigure(next) {
      config = next;
      stopAll();
      startAll();
    },
    status: () => ({
      timeframes: timeframesOf(config),
      ticks,
      lastTick,
      nextTicks: Object.fromEntries(nextAt),
    }),
  };
}

export const clockActor = defineActorKind<ClockConfig>({
  kind: 'clock',
  description: 'one tick per bar boundary of each timeframe in the active plans',
  configSchema: clockConfigSchema,
  configFromPlans: (plans, base) => ({
    ...base,
    timeframes: timeframesOf({ timeframes: [...base.timeframes, ...plans.map((p) => p.spec.timeframe)] }),
  }),
  create: createClockLogic,
  bus: { publishes: [subjectFilter('clockTick')] },
});
