import { KokexError } from '@kokex/core';

/**
 * Stable codes of the trainer (the `TRAINER_` family), listed in docs/errors.md. Errors that reach
 * a requester travel as `{code, message, retryable, data}` like every other KOKEX error.
 */
export const TrainerErrorCode = {
  /** The Python interpreter is not there or not executable. */
  PythonMissing: 'TRAINER_PYTHON_MISSING',
  /** The interpreter runs but cannot import torch, onnx or numpy. */
  PythonPackagesMissing: 'TRAINER_PYTHON_PACKAGES_MISSING',
  /** The Python package (models/kronos) is not where the trainer looks for it. */
  KronosMissing: 'TRAINER_KRONOS_MISSING',
  /** MD_CANDLES holds no usable bar for the series. */
  NoCandles: 'TRAINER_NO_CANDLES',
  /** The Python job exited with an error (its stderr tail is in the message). */
  JobFailed: 'TRAINER_JOB_FAILED',
  /** Storing or announcing the trained model failed; what was stored of it is removed. */
  StoreFailed: 'TRAINER_STORE_FAILED',
  /** Another replica holds the lease on this instrument and timeframe. */
  LeaseHeld: 'TRAINER_LEASE_HELD',
  /** The job was cancelled (a drain, a cancel request, a lost lease). */
  JobCancelled: 'TRAINER_JOB_CANCELLED',
  /** A request named a plan the trainer does not know, or a job it does not run. */
  UnknownTarget: 'TRAINER_UNKNOWN_TARGET',
  /** The job queue is full. */
  QueueFull: 'TRAINER_QUEUE_FULL',
  /** No trainer answered a request (none running, or none has the job). */
  Unavailable: 'TRAINER_UNAVAILABLE',
} as const;
export type TrainerErrorCode = (typeof TrainerErrorCode)[keyof typeof TrainerErrorCode];

/** What Debian calls the packages the training needs; named in every "missing" message. */
export const PYTHON_APT_PACKAGES = 'python3-torch python3-onnx python3-numpy';

export class PythonMissingError extends KokexError {
  constructor(python: string, cause?: unknown) {
    super(
      TrainerErrorCode.PythonMissing,
      `Python interpreter ${python} not found; install Debian's Python and the training packages ` +
        `(apt-get install -y python3 ${PYTHON_APT_PACKAGES}) or set trainer.python to an interpreter that has them`,
      { data: { python, packages: PYTHON_APT_PACKAGES }, cause },
    );
  }
}

export class PythonPackagesMissingError extends KokexError {
  constructor(python: string, detail: string) {
    super(
      TrainerErrorCode.PythonPackagesMissing,
      `${python} cannot import the training packages (${detail}); install them with apt-get install -y ${PYTHON_APT_PACKAGES}`,
      { data: { python, detail, packages: PYTHON_APT_PACKAGES } },
    );
  }
}

export class KronosMissingError extends KokexError {
  constructor(dir: string) {
    super(
      TrainerErrorCode.KronosMissing,
      `the Kronos Python package is not in ${dir} (no kronos/__main__.py); set trainer.kronosDir to the models/kronos directory of a KOKEX checkout`,
      { data: { dir } },
    );
  }
}

export class NoCandlesError extends KokexError {
  constructor(subject: string, detail: string) {
    super(TrainerErrorCode.NoCandles, `no candles to train on in ${subject}: ${detail}`, { data: { subject } });
  }
}

export class TrainingJobError extends KokexError {
  constructor(exitCode: number | null, signal: string | null, stderrTail: string) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(TrainerErrorCode.JobFailed, `python -m kronos train ${how}${stderrTail ? `:\n${stderrTail}` : ' (no stderr)'}`, {
      data: { exitCode, signal, stderrTail },
    });
  }
}

/** Retryable: the object store or KV usually comes back. */
export class ModelStoreError extends KokexError {
  constructor(detail: string, cause?: unknown) {
    super(TrainerErrorCode.StoreFailed, `storing the trained model failed: ${detail}`, { retryable: true, cause });
  }
}

/** Retryable: the other replica's job ends, and with it the lease. */
export class LeaseHeldError extends KokexError {
  constructor(key: string, holder: Record<string, unknown>) {
    super(
      TrainerErrorCode.LeaseHeld,
      `another trainer is already training ${key.replace(/^trainer\./, '').replace('.', ' ')} (job ${String(holder.jobId)} on ${String(holder.hostId)})`,
      { retryable: true, data: { key, ...holder } },
    );
  }
}

export class JobCancelledError extends KokexError {
  constructor(jobId: string, reason: string) {
    super(TrainerErrorCode.JobCancelled, `training job ${jobId} cancelled: ${reason}`, { data: { jobId, reason } });
  }
}

export class UnknownTargetError extends KokexError {
  constructor(message: string, data: Record<string, unknown>) {
    super(TrainerErrorCode.UnknownTarget, message, { data });
  }
}

export class QueueFullError extends KokexError {
  constructor(limit: number) {
    super(TrainerErrorCode.QueueFull, `the training queue is full (${limit} jobs waiting); try again later`, {
      retryable: true,
      data: { limit },
    });
  }
}

/** Retryable: a trainer may be started, or be back after a restart. */
export class TrainerUnavailableError extends KokexError {
  constructor(message: string, cause?: unknown) {
    super(TrainerErrorCode.Unavailable, message, { retryable: true, cause });
  }
}
