import { definePlugin } from '@kokex/core';
import { trainCommand } from './command.js';
import { trainerActor } from './trainer.js';

export { candleCsvName, exportCandleWindow, readCandleWindow, writeCandleCsv } from './candle-window.js';
export { trainCommand, progressBar, jobFraction } from './command.js';
export {
  DEFAULT_KRONOS_DIR,
  DEFAULT_PYTHON,
  PRESET_MODELS,
  fitWindow,
  targetFromPlan,
  targetKey,
  targetsFromPlans,
  trainerConfigSchema,
  trainingTargetSchema,
} from './config.js';
export {
  JobCancelledError,
  KronosMissingError,
  LeaseHeldError,
  ModelStoreError,
  NoCandlesError,
  PYTHON_APT_PACKAGES,
  PythonMissingError,
  PythonPackagesMissingError,
  QueueFullError,
  TrainerErrorCode,
  TrainerUnavailableError,
  TrainingJobError,
  UnknownTargetError,
} from './errors.js';
export { JOB_STATES, JOB_TRIGGERS, runTrainingJob, trainArguments } from './job.js';
export { LEASE_REFRESH_MS, acquireLease, leaseHolder, leaseKey } from './lease.js';
export { ProgressRelay, flattenMetrics, progressFromLine } from './progress.js';
export { TrainerSubjects } from './protocol.js';
export { checkKronosPackage, checkPython, runTraining } from './python.js';
export { RetrainScheduler, nextRunAt } from './schedule.js';
export { modelReadyOf, publishModelReady, storeModel } from './store.js';
export { createTrainerLogic, trainerActor } from './trainer.js';

export type { CandleWindow, CandleWindowFile, CandleWindowOptions } from './candle-window.js';
export type { TrainerConfig, TrainingSettings, TrainingTarget } from './config.js';
export type { JobEnvironment, JobOutcome, JobState, JobTrigger, TrainingJobSpec } from './job.js';
export type { Lease, LeaseHolder } from './lease.js';
export type { ProgressRelayOptions, ProgressUpdate } from './progress.js';
export type { TrainingLine, TrainingRunOptions, TrainingRunResult } from './python.js';
export type { ScheduledRun } from './schedule.js';
export type { StoredModel, StoreModelOptions } from './store.js';

export default definePlugin({ name: '@kokex/actor-trainer', version: '0.1.0', actors: [trainerActor], commands: [trainCommand] });
