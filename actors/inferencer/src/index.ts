// Public face of @kokex/actor-inferencer. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { forecastCommand, skillCommand } from './command.js';
import { inferencerActor } from './inferencer.js';

export { ForecastBatcher } from './batcher.js';
export { forecastCommand, skillCommand } from './command.js';
export { SHIPPED_MODEL_DIR, inferencerConfigFromPlans, inferencerConfigSchema, seriesFromPlan, seriesKey } from './config.js';
export {
  BadForecastRequestError,
  InferenceWorkerError,
  InferencerError,
  InferencerErrorCode,
  NoForecastError,
  SkillStoreError,
  UnknownSeriesError,
  WarmingUpError,
} from './errors.js';
export { buildForecast } from './forecast-message.js';
export { formatForecast } from './format.js';
export { SeriesForecaster } from './forecaster.js';
export { CandleHistory, readStoredCandles } from './history.js';
export { FORECAST_REQUEST_SUBJECT, createInferencerLogic, inferencerActor } from './inferencer.js';
export { ModelManager } from './models.js';
export { bandValue, conformalQuantile, fitCalibration, fitIsotonic, fitPlatt } from './skill/calibration.js';
export { emptyRecord, summarize, withScored } from './skill/record.js';
export { formatSkillReport, meanInterval, reliability, skillReport, stepCoverage, wilson } from './skill/report.js';
export { brier, conformalScore, crpsEnsemble, crpsNormal, erf, hit, normalCdf, realisedVolatility, scoreForecast } from './skill/scores.js';
export { dieboldMariano, longRunVariance, overlapLag } from './skill/significance.js';
export { SKILL_BUCKET, SKILL_TOPOLOGY, SkillStore, skillKey } from './skill/store.js';
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

export type { BatchJob, BatchResult } from './batcher.js';
export type { ForecastSeries, InferencerConfig } from './config.js';
export type { ForecastInputs } from './forecast-message.js';
export type { ForecastTrigger, ForecasterDeps, PublishedForecast } from './forecaster.js';
export type { AddResult } from './history.js';
export type { ModelLease, ModelManagerOptions } from './models.js';
export type { Calibration } from './skill/calibration.js';
export type { SkillRecord, SkillRecordKey } from './skill/record.js';
export type { Interval, ReliabilityBin, SkillReport, StepCoverage } from './skill/report.js';
export type { MetricScores, PendingForecast, ScoredForecast } from './skill/scores.js';
export type { DieboldMariano } from './skill/significance.js';
export type { PathDistributions } from './statistics.js';

export default definePlugin({
  name: '@kokex/actor-inferencer',
  version: '0.1.0',
  actors: [inferencerActor],
  commands: [forecastCommand, skillCommand],
});
