import { KokexError } from '@kokex/core';

/** Error codes of the scheduler: why a stage of a run failed. They travel in the stage messages. */
export const SchedulerErrorCode = {
  /** Nobody answered a request (no trainer or inferencer running). */
  Unanswered: 'SCHED_UNANSWERED',
  /** The trainer or inferencer answered with an error; its code and message are in the text and data. */
  Refused: 'SCHED_REFUSED',
  /** A training job the stage followed ended in `failed`. */
  TrainingFailed: 'SCHED_TRAINING_FAILED',
  /** A stage took longer than its limit (`trainTimeoutMs`). */
  Timeout: 'SCHED_TIMEOUT',
  /** A stage failed with an error that carried no code of its own (a bug, a lost connection). */
  Internal: 'SCHED_INTERNAL',
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];

export class SchedulerStageError extends KokexError {
  constructor(code: SchedulerErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { data, ...(cause === undefined ? {} : { cause }), retryable: code !== SchedulerErrorCode.Refused });
  }
}
