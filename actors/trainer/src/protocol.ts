import type { WireError } from '@kokex/core';

/**
 * The trainer's request/reply subjects (core NATS, not streamed). Replies are JSON in the control
 * plane's shape: `{ok: true, ...}` or `{ok: false, error: {code, message, retryable, data}}`.
 *
 * - `kokex.ctl.trainer.train` `{plan}`: queue group `kokex-trainer`, so one replica answers. It
 *   queues a job (or joins the one queued or running for the same instrument and timeframe) and
 *   replies at once with the job id; progress follows on `kokex.model.progress.{inst}.{tf}`.
 * - `kokex.ctl.trainer.cancel` `{jobId}`: every replica hears it; the one that has the job answers.
 */
export const TrainerSubjects = {
  train: 'kokex.ctl.trainer.train',
  cancel: 'kokex.ctl.trainer.cancel',
} as const;
export type TrainerSubjects = (typeof TrainerSubjects)[keyof typeof TrainerSubjects];

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

export interface CancelRequest {
  jobId: string;
}

export interface CancelAccepted {
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
export type CancelReply = CancelAccepted | TrainerRefusal;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A request body as an object; anything unparsable is an empty object (the handler then names the missing field). */
export function decodeBody(data: Uint8Array): Record<string, unknown> {
  try {
    const value = data.length ? (JSON.parse(decoder.decode(data)) as unknown) : {};
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
