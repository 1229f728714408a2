import { randomUUID } from 'node:crypto';
import {
  type ActorContext,
  type ActorLogic,
  Buckets,
  CandleContract,
  defineActorKind,
  ErrorCode,
  isKokexError,
  KokexError,
  MarketClockKind,
  ObjectStores,
  Streams,
  subject,
  subjectFilter,
  TRAINER_QUEUE_GROUP,
  type TrainAccepted,
  toWireError,
} from '@kokex/core';
import { type TrainerConfig, type TrainingTarget, targetKey, targetsFromPlans, trainerConfigSchema } from './config.js';
import { JobCancelledError, LeaseHeldError, QueueFullError, UnknownTargetError } from './errors.js';
import { type JobOutcome, type JobTrigger, runTrainingJob } from './job.js';
import { leaseHolder, leaseKey } from './lease.js';
import { ProgressRelay } from './progress.js';
import { decodeBody, encodeJson, TrainerSubjects } from './protocol.js';
import { RetrainScheduler } from './schedule.js';

/**
 * The trainer actor: trains Kronos for the active plans, on each plan's retrain schedule (at the
 * plan's market time: the wall clock live, the candles' time in a replay) and on request. Jobs wait in a FIFO queue and run `concurrency` at a time on this
 * instance; across replicas a lease per instrument and timeframe keeps a second job for the same
 * series from starting. Drain cancels: queued jobs are dropped, running ones have their Python
 * process killed and their lease released, and each reports stage `failed`.
 */
interface Job {
  jobId: string;
  key: string;
  target: TrainingTarget;
  trigger: JobTrigger;
  slot?: number;
  queuedAt: number;
  abort: AbortController;
  relay?: ProgressRelay;
  done?: Promise<JobOutcome>;
}

type Subscription = ReturnType<ActorContext<TrainerConfig>['bus']['nc']['subscribe']>;

/** Outcomes kept for the status endpoint. */
const HISTORY = 10;

function describeJob(job: Job) {
  return {
    jobId: job.jobId,
    plan: job.target.plan,
    inst: job.target.inst,
    tf: job.target.tf,
    trigger: job.trigger,
    queuedAt: job.queuedAt,
    ...(job.relay?.latest ? { progress: job.relay.latest } : {}),
  };
}

export function createTrainerLogic(ctx: ActorContext<TrainerConfig>): ActorLogic<TrainerConfig> {
  let config = ctx.config;
  const queue: Job[] = [];
  const running = new Map<string, Job>();
  const history: JobOutcome[] = [];
  const totals = { done: 0, failed: 0, cancelled: 0, skipped: 0 };
  let accepting = false;
  let trainSubscription: Subscription | undefined;
  let cancelSubscription: Subscription | undefined;

  const findTarget = (plan: string) => config.targets.find((t) => t.plan === plan);
  /** A target's market clock: its plan's (the wall clock live; the data's time in a replay). */
  const clockOf = (t: Pick<TrainingTarget, 'plan' | 'mode'>) => ctx.marketClocks.of(t.plan, t.mode);
  /** Candle subscriptions of the replayed plans: their candles are the trainer's market time. */
  let candleSubscriptions: Subscription[] = [];

  const scheduler = new RetrainScheduler(ctx.clock, (plan, at) => {
    const target = findTarget(plan);
    if (!target) return;
    try {
      enqueue(target, 'schedule', at);
    } catch (err) {
      ctx.log.warn({ err, plan }, 'scheduled training not queued');
    }
  });

  /**
   * A replayed plan's schedule fires when its candles reach the fire time: the trainer listens to
   * the plan's closed candles (core NATS, no durable: a candle missed while down is a clock tick
   * missed, and the next one moves the clock as far) and shows their `eventTime` to the plan's clock.
   */
  const followCandles = () => {
    for (const s of candleSubscriptions) s.unsubscribe();
    candleSubscriptions = config.targets
      .filter((t) => t.schedule && clockOf(t).kind === MarketClockKind.event)
      .map((t) =>
        ctx.bus.nc.subscribe(subject('candle', { venue: t.venue, inst: t.inst, tf: t.tf }), {
          callback: (err, msg) => {
            if (err) return;
            try {
              clockOf(t).observe(CandleContract.decode(msg.data).eventTime);
            } catch {
              return;
            }
            scheduler.observe();
          },
        }),
      );
  };
  const unfollowCandles = () => {
    for (const s of candleSubscriptions) s.unsubscribe();
    candleSubscriptions = [];
  };

  const armSchedules = () => {
    const entries = new Map(config.targets.flatMap((t) => (t.schedule ? [[t.plan, t.schedule] as const] : [])));
    const invalid = scheduler.set(entries, (plan) => clockOf(findTarget(plan) ?? { plan, mode: 'live' }));
    followCandles();
    if (invalid.length)
      ctx.log.warn({ plans: invalid }, 'retrain schedules that are neither an interval nor a cron expression are ignored');
  };

  const accepted = (job: Job, joined: boolean): TrainAccepted => ({
    ok: true,
    jobId: job.jobId,
    plan: job.target.plan,
    venue: job.target.venue,
    inst: job.target.inst,
    tf: job.target.tf,
    joined,
    state: running.get(job.key) === job ? 'running' : 'queued',
    ahead: Math.max(0, queue.indexOf(job)),
    instanceId: ctx.instanceId,
  });

  const enqueue = (target: TrainingTarget, trigger: JobTrigger, slot?: number): TrainAccepted => {
    const key = targetKey(target);
    const existing = running.get(key) ?? queue.find((j) => j.key === key);
    if (existing) return accepted(existing, true);
    if (queue.length >= config.maxQueued) throw new QueueFullError(config.maxQueued);
    const job: Job = {
      jobId: randomUUID(),
      key,
      target,
      trigger,
      ...(slot === undefined ? {} : { slot }),
      queuedAt: ctx.clock.now(),
      abort: new AbortController(),
    };
    queue.push(job);
    pump();
    return accepted(job, false);
  };

  const record = (outcome: JobOutcome) => {
    totals[outcome.state]++;
    history.unshift(outcome);
    history.length = Math.min(history.length, HISTORY);
  };

  /**
   * Ends a job that never ran (cancelled while queued, refused at its lease): it is recorded, and
   * still gets its `failed` message, so whoever follows it stops waiting.
   */
  const endUnrun = async (job: Job, error: KokexError, state: 'cancelled' | 'failed') => {
    const now = ctx.clock.now();
    const { plan, inst, tf } = job.target;
    const outcome: JobOutcome = {
      jobId: job.jobId,
      plan,
      inst,
      tf,
      trigger: job.trigger,
      state,
      startedAt: now,
      endedAt: now,
      error: error.toWire(),
    };
    record(outcome);
    const relay = new ProgressRelay({
      bus: ctx.bus,
      clock: ctx.clock,
      log: ctx.log,
      jobId: job.jobId,
      inst,
      tf,
      source: ctx.instanceId,
      intervalMs: 0,
    });
    relay.send({ stage: 'failed', message: `${error.code}: ${error.message}` });
    await relay.flush();
    return outcome;
  };
  const drop = (job: Job, reason: string) => endUnrun(job, new JobCancelledError(job.jobId, reason), 'cancelled');

  const pump = () => {
    while (accepting && running.size < config.concurrency) {
      // The next job whose series is not already training here (the lease handles other replicas).
      const index = queue.findIndex((j) => !running.has(j.key));
      if (index < 0) return;
      const [job] = queue.splice(index, 1) as [Job];
      running.set(job.key, job);
      job.done = runTrainingJob(
        {
          bus: ctx.bus,
          clock: ctx.clock,
          marketClock: clockOf(job.target),
          log: ctx.log,
          config,
          instanceId: ctx.instanceId,
          hostId: ctx.hostId,
          signal: AbortSignal.any([job.abort.signal, ctx.signal]),
          onRelay: (relay) => {
            job.relay = relay;
          },
        },
        { jobId: job.jobId, target: job.target, trigger: job.trigger, ...(job.slot === undefined ? {} : { slot: job.slot }) },
      )
        .then(
          (outcome) => {
            record(outcome);
            return outcome;
          },
          (err: unknown) => {
            // Thrown before the job reported anything: the lease taken since the request was
            // checked, the lease bucket gone. A failure of this job only.
            ctx.log.warn({ err, jobId: job.jobId }, 'training job could not start');
            const error = isKokexError(err)
              ? err
              : new KokexError(ErrorCode.Internal, String((err as Error)?.message ?? err), { cause: err });
            return endUnrun(job, error, 'failed');
          },
        )
        .finally(() => {
          running.delete(job.key);
          pump();
        });
    }
  };

  const onTrain = async (body: Record<string, unknown>): Promise<TrainAccepted> => {
    const plan = typeof body.plan === 'string' ? body.plan : '';
    const target = findTarget(plan);
    if (!target) {
      const known = config.targets.map((t) => t.plan);
      throw new UnknownTargetError(`no plan named "${plan}" (known: ${known.join(', ') || 'none; apply a plan first'})`, { plan, known });
    }
    const local = running.get(targetKey(target)) ?? queue.find((j) => j.key === targetKey(target));
    if (!local) {
      // Refuse at once rather than queue a job that will find the lease taken.
      const key = leaseKey(target.inst, target.tf);
      const holder = await leaseHolder(ctx.bus, key);
      if (holder && holder.instanceId !== ctx.instanceId) throw new LeaseHeldError(key, { ...holder });
    }
    return enqueue(target, 'request');
  };

  const onCancel = (body: Record<string, unknown>) => {
    const jobId = typeof body.jobId === 'string' ? body.jobId : '';
    const queuedIndex = queue.findIndex((j) => j.jobId === jobId);
    const job = queuedIndex >= 0 ? queue[queuedIndex] : [...running.values()].find((j) => j.jobId === jobId);
    if (!job) return undefined;
    const was = queuedIndex >= 0 ? 'queued' : 'running';
    if (queuedIndex >= 0) {
      queue.splice(queuedIndex, 1);
      void drop(job, 'cancel requested while queued');
    } else job.abort.abort(new JobCancelledError(jobId, 'cancel requested'));
    return { ok: true, jobId, was };
  };

  /** Train requests: taken while running, left to the other replicas while paused. */
  const subscribeTrain = () =>
    ctx.bus.nc.subscribe(TrainerSubjects.train, {
      queue: TRAINER_QUEUE_GROUP,
      callback: (err, msg) => {
        if (err) return;
        void onTrain(decodeBody(msg.data)).then(
          (reply) => msg.respond(encodeJson(reply)),
          (e: unknown) => msg.respond(encodeJson({ ok: false, error: toWireError(e) })),
        );
      },
    });

  /** Cancel requests, for the whole run: a paused trainer's running jobs can still be cancelled. No queue group: only the replica that has the job answers. */
  const subscribeCancel = () =>
    ctx.bus.nc.subscribe(TrainerSubjects.cancel, {
      callback: (err, msg) => {
        if (err) return;
        const reply = onCancel(decodeBody(msg.data));
        if (reply) msg.respond(encodeJson(reply));
      },
    });

  return {
    start() {
      accepting = true;
      armSchedules();
      trainSubscription = subscribeTrain();
      cancelSubscription = subscribeCancel();
      ctx.log.info({ targets: config.targets.length, schedules: scheduler.upcoming() }, 'trainer ready');
    },
    pause() {
      // Running jobs go on; nothing new starts, and requests go to the other replicas.
      accepting = false;
      scheduler.stop();
      unfollowCandles();
      trainSubscription?.unsubscribe();
      trainSubscription = undefined;
    },
    resume() {
      accepting = true;
      armSchedules();
      trainSubscription ??= subscribeTrain();
      pump();
    },
    async stop() {
      accepting = false;
      scheduler.stop();
      unfollowCandles();
      trainSubscription?.unsubscribe();
      cancelSubscription?.unsubscribe();
      trainSubscription = cancelSubscription = undefined;
      const dropped = queue.splice(0).map((job) => drop(job, 'the trainer stopped before the job started'));
      const inFlight = [...running.values()];
      for (const job of inFlight) job.abort.abort(new JobCancelledError(job.jobId, 'the trainer is stopping'));
      await Promise.all([...dropped, ...inFlight.map((j) => j.done)]);
    },
    reconfigure(next) {
      config = next;
      if (accepting) armSchedules();
    },
    status: () => ({
      running: [...running.values()].map(describeJob),
      queued: queue.map(describeJob),
      schedules: scheduler.upcoming().map((s) => ({ plan: s.key, schedule: s.schedule, next: new Date(s.at).toISOString() })),
      targets: config.targets.map((t) => t.plan),
      totals: { ...totals },
      recent: history,
    }),
  };
}

export const trainerActor = defineActorKind<TrainerConfig>({
  kind: 'trainer',
  description: 'retrains Kronos per plan (schedule or request) and stores the model in the registry',
  configSchema: trainerConfigSchema,
  configFromPlans: (plans, base) => {
    const fromPlans = targetsFromPlans(plans);
    const planNames = new Set(fromPlans.map((t) => t.plan));
    // Hand-written targets stay unless a plan of the same name replaces them.
    return { ...base, targets: [...base.targets.filter((t) => !planNames.has(t.plan)), ...fromPlans] };
  },
  create: createTrainerLogic,
  // Its request subjects are the kind's own (`kokex.ctl.trainer.*`, in every host's baseline).
  bus: {
    publishes: [subjectFilter('modelProgress'), subjectFilter('modelReady')],
    // A replayed plan's closed candles: its market time, which its retrain schedule fires on.
    subscribes: [subjectFilter('candle')],
    // The training window starts from the last stored bar (then an ordered replay, not yet declared).
    reads: [Streams.candles],
    kv: [Buckets.models, Buckets.leases],
    objectStores: [ObjectStores.artifacts],
  },
});
