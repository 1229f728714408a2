import type { WireError } from '../errors.js';

/**
 * The trainer's request/reply messages (core NATS, not streamed; subjects from the `actorRequest`
 * family). Replies are JSON in the control plane's shape: `{ok: true, ...}` or `{ok: false, error}`.
 *
 * - `kokex.ctl.trainer.train` `{plan}`: queue group `kokex-trainer`, so one replica answers. It
 *   queues a job (or joins the one queued or running for the same instrument and timeframe) and
 *   replies at once with the job id; progress follows on `kokex.model.progress.{inst}.{tf}`.
 * - `kokex.ctl.trainer.cancel` `{jobId}`: every replica hears it; the one that has the job answers.
 */
export const TrainerEndpoints = { train: 'train', cancel: 'cancel' } as const;
export type TrainerEndpoints = (typeof TrainerEndpoints)[keyof typeof TrainerEndpoints];

/** The trainer's queue group on `train`: one replica takes each request. */
export const TRAINER_QUEUE_GROUP = 'kokex-trainer';

export interface TrainRequest {
  /** Plan name (an applied plan, or a configured target). */
  plan: string;
}

export interface TrainAccepted {
  ok: true;
  jobId: string;
  plan: string;
  venue: string;
  inst: string;
  tf: string;
  /** True when an already queued or running job for the same instrument and timeframe was returned. */
  joined: boolean;
  state: 'queued' | 'running';
  /** Jobs ahead of this one on the replica that took it. */
  ahead: number;
  instanceId: string;
}

export interface TrainCancelRequest {
  jobId: string;
}

export interface TrainCancelAccepted {
  ok: true;
  jobId: string;
  /** What the job was doing when cancelled. */
  was: 'queued' | 'running';
}

export interface TrainerRefusal {
  ok: false;
  error: WireError;
}

export type TrainReply = TrainAccepted | TrainerRefusal;
export type TrainCancelReply = TrainCancelAccepted | TrainerRefusal;
