import {
  actorRequestSubject,
  type Bus,
  type ChainStage,
  InferencerEndpoints,
  type Logger,
  type ModelProgress,
  ModelProgressContract,
  OrderEventContract,
  type OrderVerdict,
  OrderVerdictContract,
  ScheduledDecisionContract,
  subject,
  subjectFilter,
  TrainerEndpoints,
} from '@kokex/core';
import type { ScheduledJob, SchedulerConfig } from './config.js';
import type { ChainContext } from './chain.js';
import { ScheduleSubjects } from './contracts.js';
import { SchedulerErrorCode, SchedulerStageError } from './errors.js';

/**
 * What each stage of a run does on the bus. The trainer and the inferencer are asked the way
 * `kokex train` and `kokex forecast` ask them (request/reply on their control subjects); the
 * decision is a stored trigger for the plan's agent; execution is observed, not done: the verdicts
 * that carry the run's correlation id, and the first order event of each approved one.
 *
 * Waits here use the wall clock: they race other processes, not the schedule.
 */
export interface StageEnv {
  bus: Bus;
  log: Logger;
  source: string;
  config(): SchedulerConfig;
}

/** The trainer's and the inferencer's request subjects (core's `actorRequest` family). */
export const TRAIN_SUBJECT = actorRequestSubject('trainer', TrainerEndpoints.train);
export const FORECAST_SUBJECT = actorRequestSubject('inferencer', InferencerEndpoints.forecast);

type StageWork = (run: ChainContext) => Promise<Record<string, unknown>>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Reply {
  ok?: boolean;
  error?: { code?: string; message?: string; data?: Record<string, unknown> };
  [key: string]: unknown;
}

async function ask(env: StageEnv, subj: string, body: unknown, who: string, timeoutMs = env.config().requestTimeoutMs): Promise<Reply> {
  let reply: Reply;
  try {
    const msg = await env.bus.nc.request(subj, encoder.encode(JSON.stringify(body)), { timeout: timeoutMs });
    reply = JSON.parse(decoder.decode(msg.data)) as Reply;
  } catch (err) {
    throw new SchedulerStageError(
      SchedulerErrorCode.Unanswered,
      `no ${who} answered on ${subj} (${(err as Error).message})`,
      { subject: subj },
      err,
    );
  }
  return reply;
}

function refused(who: string, reply: Reply): SchedulerStageError {
  const e = reply.error ?? {};
  return new SchedulerStageError(SchedulerErrorCode.Refused, `${who} refused: ${e.code ?? '?'}: ${e.message ?? 'no reason given'}`, {
    ...e,
  });
}

/** Resolves with the job's last progress message (done or failed), watching from before the request. */
function followTraining(env: StageEnv, job: ScheduledJob) {
  const early: ModelProgress[] = [];
  let jobId: string | undefined;
  let settle: (p: ModelProgress) => void = () => undefined;
  const sub = env.bus.nc.subscribe(subject('modelProgress', { inst: job.inst, tf: job.tf }), {
    callback: (_err, msg) => {
      let p: ModelProgress;
      try {
        p = ModelProgressContract.decode(msg.data).data;
      } catch {
        return;
      }
      if (jobId === undefined) early.push(p);
      else if (p.jobId === jobId && (p.stage === 'done' || p.stage === 'failed')) settle(p);
    },
  });
  return {
    stop: () => sub.unsubscribe(),
    until(id: string, timeoutMs: number): Promise<ModelProgress> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new SchedulerStageError(SchedulerErrorCode.Timeout, `training job ${id} still running after ${timeoutMs} ms`, { jobId: id }),
            ),
          timeoutMs,
        );
        settle = (p) => {
          clearTimeout(timer);
          resolve(p);
        };
        jobId = id;
        const seen = early.find((p) => p.jobId === id && (p.stage === 'done' || p.stage === 'failed'));
        if (seen) settle(seen);
      });
    },
  };
}

function train(env: StageEnv, job: ScheduledJob): StageWork {
  return async () => {
    const watch = followTraining(env, job);
    try {
      await env.bus.nc.flush();
      const reply = await ask(env, TRAIN_SUBJECT, { plan: job.plan }, 'trainer');
      // A trainer already busy with this series names its job: the run follows that one.
      const held = reply.error?.code === 'TRAINER_LEASE_HELD' ? reply.error.data?.jobId : undefined;
      const jobId = reply.ok ? String(reply.jobId) : typeof held === 'string' ? held : undefined;
      if (!jobId) throw refused('trainer', reply);
      const last = await watch.until(jobId, env.config().trainTimeoutMs);
      if (last.stage === 'failed')
        throw new SchedulerStageError(
          SchedulerErrorCode.TrainingFailed,
          `training job ${jobId} failed: ${last.message ?? 'no reason given'}`,
          { jobId },
        );
      return { jobId, joined: reply.ok === true ? reply.joined === true : true, ...(last.message ? { message: last.message } : {}) };
    } finally {
      watch.stop();
    }
  };
}

function infer(env: StageEnv, job: ScheduledJob, runId: string): StageWork {
  return async () => {
    const reply = await ask(env, FORECAST_SUBJECT, { inst: job.inst, tf: job.tf, correlationId: runId }, 'inferencer');
    if (!reply.ok) throw refused('inferencer', reply);
    const f = (reply.forecast ?? {}) as { asOf?: number; tradeable?: boolean; pUp?: number };
    return {
      ...(typeof reply.id === 'string' ? { id: reply.id } : {}),
      ...(typeof f.asOf === 'number' ? { asOf: f.asOf } : {}),
      ...(typeof f.tradeable === 'boolean' ? { tradeable: f.tradeable } : {}),
      ...(typeof f.pUp === 'number' ? { pUp: f.pUp } : {}),
    };
  };
}

/** Verdicts with the run's correlation id, and the first event of each approved order, from before the trigger goes out. */
function watchOutcome(env: StageEnv, job: ScheduledJob, runId: string) {
  const verdicts: OrderVerdict[] = [];
  const events = new Map<string, string>();
  const subs = [
    env.bus.nc.subscribe(subjectFilter('orderVerdict', { plan: job.plan }), {
      callback: (_err, msg) => {
        try {
          const env = OrderVerdictContract.decode(msg.data);
          if (env.correlationId === runId) verdicts.push(env.data);
        } catch {
          // not ours to judge
        }
      },
    }),
    env.bus.nc.subscribe(subjectFilter('orderEvent'), {
      callback: (_err, msg) => {
        try {
          const e = OrderEventContract.decode(msg.data).data;
          if (e.clientOrderId && !events.has(e.clientOrderId) && verdicts.some((v) => v.clientOrderId === e.clientOrderId))
            events.set(e.clientOrderId, e.kind);
        } catch {
          // not ours to judge
        }
      },
    }),
  ];
  return {
    stop: () => {
      for (const s of subs) s.unsubscribe();
    },
    summary: () => ({
      intents: verdicts.length,
      approved: verdicts.filter((v) => v.decision === 'approve').length,
      denied: verdicts.filter((v) => v.decision === 'deny').map((v) => v.reason),
      orders: Object.fromEntries(events),
    }),
  };
}

export interface RunIdentity {
  runId: string;
  at: number;
}

/** The work of every stage of one run of `job`. */
export function stageWork(env: StageEnv, job: ScheduledJob, run: RunIdentity): Record<ChainStage, StageWork> & { release(): void } {
  let outcome: ReturnType<typeof watchOutcome> | undefined;
  const windowMs = () => env.config().decisionWindowMs ?? job.decisionWindowMs;
  return {
    train: train(env, job),
    infer: infer(env, job, run.runId),
    decide: async (context) => {
      outcome = watchOutcome(env, job, run.runId);
      await env.bus.nc.flush();
      const forecast = context.details.infer as { id?: string; asOf?: number; tradeable?: boolean; pUp?: number } | undefined;
      const ack = await env.bus.publish(
        ScheduledDecisionContract,
        ScheduleSubjects.decide(job.plan),
        { plan: job.plan, inst: job.inst, tf: job.tf, runId: run.runId, job: job.job, at: run.at, ...(forecast ? { forecast } : {}) },
        { id: `decide:${run.runId}`, correlationId: run.runId, source: env.source },
      );
      return { trigger: ScheduleSubjects.decide(job.plan), seq: ack.seq, windowMs: windowMs() };
    },
    execute: async () => {
      await new Promise((r) => setTimeout(r, windowMs()));
      return outcome?.summary() ?? { intents: 0, approved: 0, denied: [], orders: {} };
    },
    release: () => outcome?.stop(),
  };
}
