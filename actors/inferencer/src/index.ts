// Public face of @kokex/actor-inferencer. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { forecastCommand, skillCommand } from './command.js';
import { inferencerActor } from './inferencer.js';

export type { BatchJob, BatchResult } from './batcher.js';
export { ForecastBatcher } from './batcher.js';
export { forecastCommand, skillCommand } from './command.js';
export type { ForecastSeries, InferencerConfig } from './config.js';
export { inferencerConfigFromPlans, inferencerConfigSchema, SHIPPED_MODEL_DIR, seriesFromPlan, seriesKey } from './config.js';
export {
  BadForecastRequestError,
  InferencerError,
  InferencerErrorCode,
  InferenceWorkerError,
  NoForecastError,
  SkillStoreError,
  UnknownSeriesError,
  WarmingUpError,
} from './errors.js';
export type { ForecastInputs } from './forecast-message.js';
export { buildForecast } from './forecast-message.js';
export type { ForecasterDeps, ForecastTrigger, PublishedForecast } from './forecaster.js';
export { SeriesForecaster } from './forecaster.js';
export { formatForecast } from './format.js';
export type { AddResult } from './history.js';
export { CandleHistory, readStoredCandles } from './history.js';
export { createInferencerLogic, FORECAST_REQUEST_SUBJECT, inferencerActor } from './inferencer.js';
export type { ModelLease, ModelManagerOptions } from './models.js';
export { ModelManager } from './models.js';
export type { Calibration } from './skill/calibration.js';
export { bandValue, conformalQuantile, fitCalibration, fitIsotonic, fitPlatt } from './skill/calibration.js';
export type { SkillRecord, SkillRecordKey } from './skill/record.js';
export { emptyRecord, summarize, withScored } from './skill/record.js';
export type { Interval, ReliabilityBin, SkillReport, StepCoverage } from './skill/report.js';
export { formatSkillReport, meanInterval, reliability, skillReport, stepCoverage, wilson } from './skill/report.js';
export type { MetricScores, PendingForecast, ScoredForecast } from './skill/scores.js';
export {
  brier,
  conformalScore,
  crpsEnsemble,
  crpsEnsembleFair,
  crpsNormal,
  erf,
  hit,
  normalCdf,
  realisedVolatility,
  scoreForecast,
} from './skill/scores.js';
export type { DieboldMariano } from './skill/significance.js';
export { dieboldMariano, longRunVariance, overlapLag } from './skill/significance.js';
export { SKILL_BUCKET, SKILL_TOPOLOGY, SkillStore, skillKey } from './skill/store.js';
export type { PathDistributions } from './statistics.js';
export {
  expectedBandCoverage,
  expectedMaxAdverse,
  historicalVolatility,
  logRatio,
  logReturns,
  meanPath,
  pathDistributions,
  probabilityUp,
  probabilityVolExpands,
  quantileOfSorted,
  sampleStd,
} from './statistics.js';

export default definePlugin({
  name: '@kokex/actor-inferencer',
  version: '0.1.0',
  actors: [inferencerActor],
  commands: [forecastCommand, skillCommand],
});
