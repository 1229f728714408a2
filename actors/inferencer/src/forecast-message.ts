import type { Forecast, SkillSummary } from '@kokex/core';
import { Feature, type ForecastPaths } from '@kokex/kronos-runtime';
import type { ForecastSeries } from './config.js';
import { bandValue, type Calibration } from './skill/calibration.js';
import type { PendingForecast } from './skill/scores.js';
import {
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

/**
 * Turns sample paths into the `forecast` message (statistics, calibrated P(up) and bands, the skill
 * summary) and into the record kept to score it once its horizon has closed.
 */
export interface ForecastInputs {
  series: ForecastSeries;
  /** Open time of the last closed bar the forecast saw, its close, and the lookback's closes. */
  asOf: number;
  lastClose: number;
  closes: readonly number[];
  /** Open times of the forecast bars. */
  steps: number[];
  result: ForecastPaths;
  calibration: Calibration;
  skill: SkillSummary;
  model: { name: string; version: string };
  executionProvider: string;
  seed: number;
  computeMs: number;
}

export function buildForecast(input: ForecastInputs): { forecast: Forecast; pending: PendingForecast } {
  const { series, result, lastClose, calibration } = input;
  const { paths, horizon } = result;
  const dist = pathDistributions(result.values, paths, horizon);
  const levels = series.forecast.quantiles;
  const bands = (field: Float64Array[]) =>
    levels.map((level) => field.map((sorted, step) => bandValue(sorted, level, lastClose, calibration, step)));
  const pUpRaw = probabilityUp(dist, lastClose);
  const pUp = calibration.calibrateUp(pUpRaw);
  const pVolExpandRaw = probabilityVolExpands(result.values, paths, horizon, lastClose, input.closes);
  const pVolExpand = calibration.calibrateVolExpand(pVolExpandRaw);
  const band = (coverage: number) => {
    const low = dist.close.map((s, step) => logRatio(bandValue(s, (1 - coverage) / 2, lastClose, calibration, step), lastClose));
    const high = dist.close.map((s, step) => logRatio(bandValue(s, (1 + coverage) / 2, lastClose, calibration, step), lastClose));
    return { low, high };
  };
  // What the published bands should hold: split-conformal bands their nominal coverage; raw bands
  // what a band of this many sample quantiles holds for draws of the sampled distribution.
  const expected = (coverage: number) => (calibration.bands === 'conformal' ? coverage : expectedBandCoverage(paths, coverage));
  const toLog = (q: number) => dist.close.map((s) => logRatio(quantileOfSorted(s, q), lastClose));
  const sigma = sampleStd(logReturns([...input.closes]));
  const f = series.forecast;
  const forecast: Forecast = {
    venue: series.venue,
    inst: series.inst,
    tf: series.tf,
    asOf: input.asOf,
    lastClose,
    horizon,
    steps: input.steps,
    mean: {
      close: meanPath(result.values, paths, horizon, Feature.close),
      high: meanPath(result.values, paths, horizon, Feature.high),
      low: meanPath(result.values, paths, horizon, Feature.low),
    },
    median: { close: dist.close.map((s) => quantileOfSorted(s, 0.5)) },
    quantiles: { levels: [...levels], close: bands(dist.close), high: bands(dist.high), low: bands(dist.low) },
    pUp,
    pUpRaw,
    pVolExpand,
    pVolExpandRaw,
    expectedMaxAdverse: expectedMaxAdverse(result.values, paths, horizon, lastClose),
    model: input.model,
    settings: {
      paths,
      lookback: result.lookback, // the bars the model used (at most its context)
      temperature: f.temperature,
      topK: f.topK,
      topP: f.topP,
      seed: input.seed,
      executionProvider: input.executionProvider,
    },
    computeMs: input.computeMs,
    skill: input.skill,
    tradeable: input.skill.tradeable,
  };
  const pending: PendingForecast = {
    asOf: input.asOf,
    steps: input.steps,
    lastClose,
    closes: dist.close.map((s) => s.map((c) => logRatio(c, lastClose))),
    median: toLog(0.5),
    low95: toLog(0.05),
    high95: toLog(0.95),
    band80: band(0.8),
    band90: band(0.9),
    expected80: expected(0.8),
    expected90: expected(0.9),
    pUp,
    pUpRaw,
    pVolExpand,
    pVolExpandRaw,
    volHistorical: historicalVolatility(input.closes, horizon),
    sigma: Number.isFinite(sigma) ? sigma : 0,
  };
  return { forecast, pending };
}
