import {
  type ActorContext,
  type ActorLogic,
  barOpen,
  CandleContract,
  ClockTickContract,
  defineActorKind,
  instrumentToken,
  isTimeframe,
  MarketClockKind,
  nextBarOpen,
  type Plan,
  planToken,
  subject,
  subjectFilter,
  TIMEFRAMES,
  timeframeToken,
  VENUE_MODES,
  venueToken,
} from '@kokex/core';
import { z } from 'zod';

/**
 * Emits one tick per bar boundary of every timeframe the active plans use, on
 * `kokex.clock.tick.{tf}`, at market time:
 *
 * - Live plans (and `timeframes` set by hand) tick on the wall clock: a timer per timeframe fires
 *   at each boundary. Message id `clock:{tf}:{boundary}`, so replicas of this actor may all fire
 *   and JetStream keeps one tick per boundary.
 * - A replayed plan (`sim`) ticks on its data's time. Its market time comes from its own closed
 *   candles: the clock follows the plan's `kokex.md.candle.…` subject on core NATS and shows each
 *   candle's `eventTime` (its close) to the plan's market clock; when that crosses a boundary of
 *   the plan's timeframe, the tick fires, with `plan` set, `lateMs` 0 and `eventTime` the boundary
 *   (message id `clock:{plan}:{tf}:{boundary}`). A replay at 1×, 60× or in lockstep ticks the same
 *   boundaries. Why the candles and not a timer scaled by the replay speed: the candles are what
 *   every other actor of the plan sees, so a tick never runs ahead of (or behind) the data.
 *
 * The scheduler and candle-close triggers build on these ticks.
 */
const replaySchema = z
  .object({
    plan: planToken,
    venue: venueToken,
    mode: z.enum(VENUE_MODES),
    inst: instrumentToken,
    tf: timeframeToken,
  })
  .strict();
export type ClockReplay = z.infer<typeof replaySchema>;

export const clockConfigSchema = z
  .object({
    /** Timeframes to tick on the wall clock besides those of the live plans. */
    timeframes: z.array(timeframeToken).default([]),
    /** Replayed plans, ticked on their candles' market time. Derived from the plans. */
    replays: z.array(replaySchema).default([]),
  })
  .strict();
export type ClockConfig = z.infer<typeof clockConfigSchema>;

/** Timers longer than this are split, because setTimeout overflows past ~24.8 days. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export function timeframesOf(config: Pick<ClockConfig, 'timeframes'>): string[] {
  const order = new Map<string, number>(TIMEFRAMES.map((tf, i) => [tf, i]));
  return [...new Set(config.timeframes)].filter(isTimeframe).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
}

/** Whether a plan replays history (its market time is its data's): `sim` (and a backtest). */
const replays = (plan: Plan) => plan.spec.venue.mode === 'sim';

export function clockConfigFromPlans(plans: readonly Plan[], base: ClockConfig): ClockConfig {
  return {
    ...base,
    timeframes: timeframesOf({ timeframes: [...base.timeframes, ...plans.filter((p) => !replays(p)).map((p) => p.spec.timeframe)] }),
    replays: plans
      .filter(replays)
      .map((p) => ({
        plan: p.metadata.name,
        venue: p.spec.venue.name,
        mode: p.spec.venue.mode,
        inst: p.spec.instrument,
        tf: p.spec.timeframe,
      }))
      .sort((a, b) => a.plan.localeCompare(b.plan)),
  };
}

export function createClockLogic(ctx: ActorContext<ClockConfig>): ActorLogic<ClockConfig> {
  let config = ctx.config;
  const timers = new Map<string, unknown>();
  const nextAt = new Map<string, number>();
  /** Per replayed plan: the boundary its market time is heading for. */
  const replayNext = new Map<string, number>();
  let subscriptions: Array<{ unsubscribe(): void }> = [];
  let ticks = 0;
  let lastTick: { tf: string; boundary: number; plan?: string } | undefined;

  const schedule = (tf: string) => {
    const now = ctx.clock.now();
    const boundary = nextBarOpen(now, tf);
    nextAt.set(tf, boundary);
    const wait = Math.min(boundary - now, MAX_TIMER_MS);
    timers.set(
      tf,
      ctx.clock.setTimeout(() => {
        if (ctx.clock.now() < boundary) return schedule(tf);
        void fire(tf, boundary, ctx.clock.now() - boundary);
        schedule(tf);
      }, wait),
    );
  };

  const fire = async (tf: string, boundary: number, lateMs: number, plan?: string) => {
    // The bar that closes at `boundary` is the one holding the millisecond before it.
    const closedBarOpen = barOpen(boundary - 1, tf);
    try {
      await ctx.bus.publish(
        ClockTickContract,
        subject('clockTick', { tf }),
        { tf, barOpen: closedBarOpen, boundary, lateMs, ...(plan ? { plan } : {}) },
        {
          id: plan ? `clock:${plan}:${tf}:${boundary}` : `clock:${tf}:${boundary}`,
          source: ctx.instanceId,
          time: ctx.clock.now(),
          eventTime: boundary,
        },
      );
      ticks++;
      lastTick = { tf, boundary, ...(plan ? { plan } : {}) };
    } catch (err) {
      // A lost tick is logged, not fatal: the next boundary fires on its own.
      ctx.log.warn({ err, tf, boundary, plan }, 'tick not published');
    }
  };

  /**
   * A replayed plan's candle arrived: its market time moves to the candle's close; the boundary
   * it reached ticks (after a gap, the newest boundary passed ticks once, as a wall tick after a
   * long sleep does).
   */
  const onReplayCandle = (r: ClockReplay, eventTime: number) => {
    const market = ctx.marketClocks.of(r.plan, r.mode);
    market.observe(eventTime);
    const now = market.now();
    if (now === undefined) return;
    const next = replayNext.get(r.plan);
    if (next !== undefined && now < next) return;
    // The boundary at or before now: `now` itself when it is one (a candle's close always is). A
    // restarted clock may tick a boundary again; the message id keeps one.
    void fire(r.tf, barOpen(now, r.tf), 0, r.plan);
    replayNext.set(r.plan, nextBarOpen(now, r.tf));
  };

  const startAll = () => {
    for (const tf of timeframesOf(config)) schedule(tf);
    subscriptions = config.replays
      .filter((r) => ctx.marketClocks.of(r.plan, r.mode).kind === MarketClockKind.event)
      .map((r) =>
        ctx.bus.nc.subscribe(subject('candle', { venue: r.venue, inst: r.inst, tf: r.tf }), {
          callback: (err, msg) => {
            if (err) return;
            try {
              onReplayCandle(r, CandleContract.decode(msg.data).eventTime);
            } catch {
              // Not a candle: nothing to tell the time by.
            }
          },
        }),
      );
    ctx.log.info({ timeframes: timeframesOf(config), replays: config.replays.map((r) => r.plan) }, 'clock ticking');
  };
  const stopAll = () => {
    for (const t of timers.values()) ctx.clock.clearTimeout(t);
    timers.clear();
    nextAt.clear();
    for (const s of subscriptions.splice(0)) s.unsubscribe();
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
      replays: config.replays.map((r) => ({ plan: r.plan, tf: r.tf, next: replayNext.get(r.plan) })),
      ticks,
      lastTick,
      nextTicks: Object.fromEntries(nextAt),
    }),
  };
}

export const clockActor = defineActorKind<ClockConfig>({
  kind: 'clock',
  description: 'one tick per bar boundary of each timeframe in the active plans, at market time (a replayed plan ticks on its candles)',
  configSchema: clockConfigSchema,
  configFromPlans: clockConfigFromPlans,
  create: createClockLogic,
  bus: {
    publishes: [subjectFilter('clockTick')],
    // A replayed plan's closed candles: its market time.
    subscribes: ({ config }) => config.replays.map((r) => subject('candle', { venue: r.venue, inst: r.inst, tf: r.tf })),
  },
});
