// Public face of @kokex/actor-scheduler. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { schedulerActor } from './scheduler.js';

export { chainMachine } from './chain.js';
export {
  effectiveJobs,
  jobsFromPlan,
  scheduledJobSchema,
  schedulerConfigFromPlans,
  schedulerConfigSchema,
} from './config.js';
export { ScheduleSubjects } from './contracts.js';
export { nextFire } from './cron.js';
export { SchedulerErrorCode, SchedulerStageError } from './errors.js';
export { SCHEDULER_DURABLE, createSchedulerLogic, schedulerActor } from './scheduler.js';
export { FORECAST_SUBJECT, TRAIN_SUBJECT, stageWork } from './stages.js';

export type { ChainContext, ChainInput } from './chain.js';
export type { ScheduledJob, SchedulerConfig } from './config.js';
export type { RunRecord } from './scheduler.js';
export type { RunIdentity, StageEnv } from './stages.js';

export default definePlugin({ name: '@kokex/actor-scheduler', version: '0.1.0', actors: [schedulerActor] });
