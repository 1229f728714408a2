// Public face of @kokex/actor-validator. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { validatorActor } from './validator.js';

export { SeriesBook } from './book.js';
export { validatorConfigFromPlans, validatorConfigSchema } from './config.js';
export { backfill, deleteStored, fetchRanges, fetchTail, publishAccepted, quarantine, report } from './repair.js';
export { seriesRepairMachine } from './machine.js';
export { loadStored, scanSeries } from './scan.js';
export { createValidatorLogic, validatorActor } from './validator.js';

export type { BookCounts, Observation } from './book.js';
export type { ValidatedSeries, ValidatorConfig } from './config.js';
export type { RepairJob, SeriesRepairContext, SeriesRepairEvent, SeriesRepairInput } from './machine.js';
export type { QuarantinedBar, RepairDeps } from './repair.js';

export default definePlugin({ name: '@kokex/actor-validator', version: '0.1.0', actors: [validatorActor] });
