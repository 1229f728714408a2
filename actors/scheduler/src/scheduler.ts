import {
  type ActorContext,
  type ActorLogic,
  CHAIN_STAGES,
  type ChainStage,
  consume,
  defineActorKind,
  type Envelope,
  parseSchedule,
  type Schedule,
  type ScheduleFire,
  ScheduleFireContract,
  ScheduleStageContract,
  type StageState,
  Streams,
  subjectFilter,
} from '@kokex/core';
import { type Actor, createActor, fromPromise } from 'xstate';
import { type ChainContext, chainMachine } from './chain.js';
import {
  effectiveJobs,
  type ScheduledJob,
  type SchedulerConfig,
  schedulerConfigFromPlans,
  schedulerConfigSchema,
} from './config.js';
import { ScheduleSubjects } from './contracts.js';
import { nextFire } from './cron.js';
import { FORECAST_SUBJECT, stageWork, TRAIN_SUBJECT } from './stages.js';

/** The durable every replica pulls fires from: a fire stored once is run once. */
export const SCHEDULER_DURABLE = 'scheduler';
const SCHEDULER_CONSUMER = { stream: Streams.clock, durable: SCHEDULER_DURABLE, filter: ScheduleSubjects.fireFilter } as const;
/** Timers longer than this are re-armed on the way (long sleeps and clock jumps). */
const MAX_WAIT_MS = 3_600_000;

interface Timing {
  job: ScheduledJob;
  schedule: Schedule;
  next: number | undefined;
}

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
 * The scheduler: every replica keeps the jobs' fire times on the injected clock and, when one falls
 * due, stores a fire (`kokex.clock.fire.{plan}.{job}`, message id `fire:{plan}:{job}:{at}`). The
 * stream keeps the first copy only, and the shared durable hands it to one replica, which runs the
 * chain from the job's first stage, publishing each stage's state on `kokex.clock.stage.{plan}.{job}`
 * and keeping the latest runs in its status.
 */
export function createSchedulerLogic(ctx: ActorContext<SchedulerConfig>): ActorLogic<SchedulerConfig> {
  let config = ctx.config;
  let timings = new Map<string, Timing>();
  const runs: RunRecord[] = [];
  const active = new Map<string, { actor: Actor<typeof chainMachine>; release(): void }>();
  const counters = { fired: 0, firedByOthers: 0, started: 0, late: 0, unknownJobs: 0 };
  let timer: unknown;
  let running = false;

  const plan = () => {
    const next = new Map<string, Timing>();
    const now = ctx.clock.now();
    for (const job of effectiveJobs(config)) {
      const schedule = parseSchedule(job.schedule);
      if (!schedule) {
        ctx.log.warn(
          { plan: job.plan, job: job.job, schedule: job.schedule },
          'scheduler: not an interval or a cron expression; job ignored',
        );
        continue;
      }
      const known = timings.get(keyOf(job));
      const keep = known && known.job.schedule === job.schedule ? known.next : undefined;
      next.set(keyOf(job), { job, schedule, next: keep ?? nextFire(schedule, now) });
    }
    timings = next;
  };

  const fire = async (job: ScheduledJob, at: number) => {
    const data: ScheduleFire = { plan: job.plan, job: job.job, at, schedule: job.schedule, from: job.from };
    try {
      const ack = await ctx.bus.publish(ScheduleFireContract, ScheduleSubjects.fire(job.plan, job.job), data, {
        id: `fire:${job.plan}:${job.job}:${at}`,
        source: ctx.instanceId,
        time: at,
      });
      counters[ack.duplicate ? 'firedByOthers' : 'fired']++;
    } catch (err) {
      ctx.log.error({ err, plan: job.plan, job: job.job }, 'scheduler: the fire could not be stored; this slot is lost');
    }
  };

  const arm = () => {
    ctx.clock.clearTimeout(timer);
    if (!running) return;
    const now = ctx.clock.now();
    const due = [...timings.values()].flatMap((t) => (t.next === undefined ? [] : [t.next]));
    if (due.length === 0) return;
    timer = ctx.clock.setTimeout(onTimer, Math.min(Math.max(0, Math.min(...due) - now), MAX_WAIT_MS));
  };

  function onTimer(): void {
    const now = ctx.clock.now();
    for (const t of timings.values()) {
      if (t.next === undefined || t.next > now) continue;
      void fire(t.job, t.next);
      // After a long sleep several slots are overdue: fire the last one once, then look ahead from now.
      t.next = nextFire(t.schedule, Math.max(t.next, now));
    }
    arm();
  }

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
        { id: `stage:${record.runId}:${stage}:${state}`, correlationId: record.runId, source: ctx.instanceId },
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
    if (ctx.clock.now() - fired.at > config.lateAfterMs) {
      // Stored while no scheduler ran: a run this late would act on an old moment.
      counters.late++;
      return;
    }
    startRun(job, env);
  };

  return {
    consumers: [
      consume(
        { ...SCHEDULER_CONSUMER, contract: ScheduleFireContract },
        (env) => onFire(env),
      ),
    ],
    start() {
      running = true;
      plan();
      arm();
    },
    pause() {
      running = false;
      ctx.clock.clearTimeout(timer);
    },
    resume() {
      running = true;
      arm();
    },
    stop() {
      running = false;
      ctx.clock.clearTimeout(timer);
      for (const { actor, release } of active.values()) {
        actor.stop();
        release();
      }
      active.clear();
    },
    reconfigure(next) {
      config = next;
      plan();
      arm();
    },
    status: () => ({
      jobs: [...timings.values()].map((t) => ({
        plan: t.job.plan,
        job: t.job.job,
        schedule: t.job.schedule,
        from: t.job.from,
        decide: t.job.decide,
        next: t.next === undefined ? null : new Date(t.next).toISOString(),
      })),
      runs: runs.map((r) => ({ ...r, stages: { ...r.stages } })),
      ...counters,
    }),
  };
}

export const schedulerActor = defineActorKind<SchedulerConfig>({
  kind: 'scheduler',
  description: 'fires plan schedules once across replicas and drives train → infer → decide → execute',
  configSchema: schedulerConfigSchema,
  configFromPlans: schedulerConfigFromPlans,
  create: createSchedulerLogic,
  bus: {
    publishes: [subjectFilter('scheduleFire'), subjectFilter('scheduleStage'), subjectFilter('scheduleDecision'), TRAIN_SUBJECT, FORECAST_SUBJECT],
    subscribes: [subjectFilter('modelProgress'), subjectFilter('orderVerdict'), subjectFilter('orderEvent')],
    consumes: [SCHEDULER_CONSUMER],
  },
});
