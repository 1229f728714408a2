import {
  type ActorContext,
  type ActorLogic,
  CandleContract,
  CHAIN_STAGES,
  type ChainStage,
  consume,
  defineActorKind,
  type Envelope,
  MarketClockKind,
  parseSchedule,
  type ScheduleFire,
  ScheduleFireContract,
  ScheduleStageContract,
  ScheduleTimers,
  type StageState,
  Streams,
  subject,
  subjectFilter,
} from '@kokex/core';
import { type Actor, createActor, fromPromise } from 'xstate';
import { type ChainContext, chainMachine } from './chain.js';
import { effectiveJobs, type ScheduledJob, type SchedulerConfig, schedulerConfigFromPlans, schedulerConfigSchema } from './config.js';
import { ScheduleSubjects } from './contracts.js';
import { FORECAST_SUBJECT, stageWork, TRAIN_SUBJECT } from './stages.js';

/** The durable every replica pulls fires from: a fire stored once is run once. */
export const SCHEDULER_DURABLE = 'scheduler';
const SCHEDULER_CONSUMER = { stream: Streams.clock, durable: SCHEDULER_DURABLE, filter: ScheduleSubjects.fireFilter } as const;

export interface RunRecord {
  runId: string;
  plan: string;
  job: string;
  at: number;
  startedAt: number;
  state: 'running' | 'done' | 'failed';
  stages: Record<ChainStage, StageState>;
  error?: { stage: string; code: string; message: string };
}

const keyOf = (j: Pick<ScheduledJob, 'plan' | 'job'>) => `${j.plan}.${j.job}`;

/**
 * The scheduler: every replica keeps the jobs' fire times at their plan's market time (core's
 * `ScheduleTimers`: wall-clock timers live; in a replayed plan, the `eventTime` of the plan's
 * closed candles, which it follows on core NATS) and, when one falls due, stores a fire
 * (`kokex.clock.fire.{plan}.{job}`, message id `fire:{plan}:{job}:{at}`, `eventTime` = `at`). The
 * stream keeps the first copy only, and the shared durable hands it to one replica, which runs the
 * chain from the job's first stage, publishing each stage's state on `kokex.clock.stage.{plan}.{job}`
 * and keeping the latest runs in its status.
 */
export function createSchedulerLogic(ctx: ActorContext<SchedulerConfig>): ActorLogic<SchedulerConfig> {
  let config = ctx.config;
  let jobs = new Map<string, ScheduledJob>();
  const runs: RunRecord[] = [];
  const active = new Map<string, { actor: Actor<typeof chainMachine>; release(): void }>();
  const counters = { fired: 0, firedByOthers: 0, started: 0, late: 0, unknownJobs: 0 };
  /** A job's market clock: its plan's. */
  const clockOf = (job: Pick<ScheduledJob, 'plan' | 'mode'>) => ctx.marketClocks.of(job.plan, job.mode);
  const timers = new ScheduleTimers(ctx.clock, (key, at) => {
    const job = jobs.get(key);
    if (job) void fire(job, at);
  });
  let candleSubscriptions: Array<{ unsubscribe(): void }> = [];

  /**
   * A replayed plan's jobs fire when its candles reach the fire time: the scheduler follows the
   * plan's closed candles on core NATS (no durable: a candle missed while down is a clock tick
   * missed, the next one moves the clock as far) and shows each `eventTime` to the plan's clock.
   */
  const followCandles = () => {
    for (const s of candleSubscriptions) s.unsubscribe();
    const series = new Map<string, ScheduledJob>();
    for (const job of jobs.values()) {
      if (clockOf(job).kind !== MarketClockKind.event) continue;
      series.set(`${job.plan}|${subject('candle', job)}`, job);
    }
    candleSubscriptions = [...series.values()].map((job) =>
      ctx.bus.nc.subscribe(subject('candle', { venue: job.venue, inst: job.inst, tf: job.tf }), {
        callback: (err, msg) => {
          if (err) return;
          try {
            clockOf(job).observe(CandleContract.decode(msg.data).eventTime);
          } catch {
            return;
          }
          timers.check();
        },
      }),
    );
  };

  const plan = () => {
    const next = new Map<string, ScheduledJob>();
    const entries = [];
    for (const job of effectiveJobs(config)) {
      const schedule = parseSchedule(job.schedule);
      if (!schedule) {
        ctx.log.warn(
          { plan: job.plan, job: job.job, schedule: job.schedule },
          'scheduler: not an interval or a cron expression; job ignored',
        );
        continue;
      }
      next.set(keyOf(job), job);
      entries.push({ key: keyOf(job), schedule, clock: clockOf(job) });
    }
    jobs = next;
    timers.set(entries);
  };

  const fire = async (job: ScheduledJob, at: number) => {
    const data: ScheduleFire = { plan: job.plan, job: job.job, at, schedule: job.schedule, from: job.from };
    try {
      const ack = await ctx.bus.publish(ScheduleFireContract, ScheduleSubjects.fire(job.plan, job.job), data, {
        id: `fire:${job.plan}:${job.job}:${at}`,
        source: ctx.instanceId,
        time: ctx.clock.now(),
        eventTime: at,
      });
      counters[ack.duplicate ? 'firedByOthers' : 'fired']++;
    } catch (err) {
      ctx.log.error({ err, plan: job.plan, job: job.job }, 'scheduler: the fire could not be stored; this slot is lost');
    }
  };

  const publishStage = (record: RunRecord, stage: ChainStage, state: StageState, context: ChainContext) => {
    const detail =
      state === 'skipped'
        ? { reason: context.error ? `${context.error.stage} failed` : 'not part of this job' }
        : (context.details[stage] ?? {});
    const error = state === 'failed' && context.error ? { code: context.error.code, message: context.error.message } : undefined;
    void ctx.bus
      .publish(
        ScheduleStageContract,
        ScheduleSubjects.stage(record.plan, record.job),
        { runId: record.runId, plan: record.plan, job: record.job, stage, state, at: ctx.clock.now(), detail, ...(error ? { error } : {}) },
        { id: `stage:${record.runId}:${stage}:${state}`, correlationId: record.runId, source: ctx.instanceId, eventTime: record.at },
      )
      .catch((err: unknown) => ctx.log.warn({ err, runId: record.runId, stage }, 'scheduler: stage state not published'));
  };

  const startRun = (job: ScheduledJob, env: Envelope<ScheduleFire>) => {
    const runId = env.id;
    const work = stageWork({ bus: ctx.bus, log: ctx.log, source: ctx.instanceId, config: () => config }, job, { runId, at: env.data.at });
    const logic = chainMachine.provide({
      actors: {
        train: fromPromise(({ input }: { input: ChainContext }) => work.train(input)),
        infer: fromPromise(({ input }: { input: ChainContext }) => work.infer(input)),
        decide: fromPromise(({ input }: { input: ChainContext }) => work.decide(input)),
        execute: fromPromise(({ input }: { input: ChainContext }) => work.execute(input)),
      },
    });
    const actor = createActor(logic, { input: { from: job.from, decide: job.decide } });
    const record: RunRecord = {
      runId,
      plan: job.plan,
      job: job.job,
      at: env.data.at,
      startedAt: ctx.clock.now(),
      state: 'running',
      stages: actor.getSnapshot().context.stages,
    };
    runs.unshift(record);
    runs.length = Math.min(runs.length, config.keepRuns);
    counters.started++;
    active.set(runId, { actor, release: work.release });
    let seen: Record<ChainStage, StageState> = Object.fromEntries(CHAIN_STAGES.map((s) => [s, 'pending'])) as Record<
      ChainStage,
      StageState
    >;
    actor.subscribe((snapshot) => {
      const { stages, error } = snapshot.context;
      for (const s of CHAIN_STAGES) if (stages[s] !== seen[s]) publishStage(record, s, stages[s], snapshot.context);
      seen = stages;
      record.stages = stages;
      if (error) record.error = error;
      if (snapshot.status !== 'done') return;
      record.state = snapshot.value === 'failed' ? 'failed' : 'done';
      work.release();
      active.delete(runId);
      ctx.log.info({ runId, plan: job.plan, job: job.job, state: record.state, stages }, 'scheduled run ended');
    });
    actor.start();
  };

  const onFire = async (env: Envelope<ScheduleFire>) => {
    const fired = env.data;
    const job = effectiveJobs(config).find((j) => j.plan === fired.plan && j.job === fired.job);
    if (!job) {
      counters.unknownJobs++;
      return;
    }
    // Late in the plan's market time (a replica that has seen no candle of a replay yet takes it as on time).
    if ((clockOf(job).now() ?? fired.at) - fired.at > config.lateAfterMs) {
      // Stored while no scheduler ran: a run this late would act on an old moment.
      counters.late++;
      return;
    }
    startRun(job, env);
  };

  return {
    consumers: [consume({ ...SCHEDULER_CONSUMER, contract: ScheduleFireContract }, (env) => onFire(env))],
    start() {
      plan();
      timers.start();
      followCandles();
    },
    pause() {
      timers.stop();
    },
    resume() {
      timers.start();
    },
    stop() {
      timers.stop();
      for (const s of candleSubscriptions.splice(0)) s.unsubscribe();
      for (const { actor, release } of active.values()) {
        actor.stop();
        release();
      }
      active.clear();
    },
    reconfigure(next) {
      config = next;
      plan();
      followCandles();
    },
    status: () => {
      const upcoming = new Map(timers.upcoming().map((u) => [u.key, u.at]));
      return {
        jobs: [...jobs.values()].map((j) => {
          const at = upcoming.get(keyOf(j));
          return {
            plan: j.plan,
            job: j.job,
            schedule: j.schedule,
            from: j.from,
            decide: j.decide,
            next: at === undefined ? null : new Date(at).toISOString(),
          };
        }),
        runs: runs.map((r) => ({ ...r, stages: { ...r.stages } })),
        ...counters,
      };
    },
  };
}

export const schedulerActor = defineActorKind<SchedulerConfig>({
  kind: 'scheduler',
  description: 'fires plan schedules once across replicas and drives train → infer → decide → execute',
  configSchema: schedulerConfigSchema,
  configFromPlans: schedulerConfigFromPlans,
  create: createSchedulerLogic,
  bus: {
    publishes: [
      subjectFilter('scheduleFire'),
      subjectFilter('scheduleStage'),
      subjectFilter('scheduleDecision'),
      TRAIN_SUBJECT,
      FORECAST_SUBJECT,
    ],
    // Replayed plans' closed candles are its market time (their jobs fire on it).
    subscribes: [subjectFilter('modelProgress'), subjectFilter('orderVerdict'), subjectFilter('orderEvent'), subjectFilter('candle')],
    consumes: [SCHEDULER_CONSUMER],
  },
});
