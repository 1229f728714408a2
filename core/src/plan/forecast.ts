import { z } from 'zod';
import type { RefinementParams } from './fields.js';
import { probabilityField, uniqueListField } from './fields.js';
import { SHIPPED_MODEL_LOOKBACK } from './model.js';

export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Naive forecasts the model must beat: tomorrow equals today, and a historical-volatility random walk. */
export const SKILL_BASELINES = ['persistence', 'random-walk'] as const;
export type SkillBaseline = (typeof SKILL_BASELINES)[number];

export const SKILL_METRICS = ['crps', 'brier', 'mae', 'hit-rate'] as const;
export type SkillMetric = (typeof SKILL_METRICS)[number];

export const PROBABILITY_CALIBRATIONS = ['none', 'isotonic', 'platt'] as const;
export type ProbabilityCalibration = (typeof PROBABILITY_CALIBRATIONS)[number];

export const BAND_CALIBRATIONS = ['none', 'conformal'] as const;
export type BandCalibration = (typeof BAND_CALIBRATIONS)[number];

export const DEFAULT_QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];

const quantilesSchema = z
  .array(probabilityField('A quantile level.'))
  .min(1)
  .superRefine((levels, ctx) => {
    levels.forEach((level, index) => {
      const previous = levels[index - 1];
      if (previous === undefined || level > previous) return;
      const params: RefinementParams = {
        expected: 'quantile levels in increasing order',
        detail: `not above the level before it, ${previous}`,
      };
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index], message: 'quantiles out of order', params });
    });
  })
  .describe('Quantile levels of the bands, each between 0 and 1, increasing.');

const skillGateSchema = z
  .object({
    enabled: z.boolean().default(true).describe('When false, every forecast is marked tradeable (for experiments only).'),
    window: z.number().int().positive().default(500).describe('Scored forecasts in the rolling skill record.'),
    minScored: z.number().int().positive().default(100).describe('Scored forecasts needed before a forecast can be tradeable.'),
    metric: z.enum(SKILL_METRICS).default('crps').describe('The score the model must win on: crps, brier, mae or hit-rate.'),
    baselines: uniqueListField(z.enum(SKILL_BASELINES), 'baseline', 'Baselines the model must beat, all of them.').default([
      'persistence',
      'random-walk',
    ]),
    margin: z
      .number()
      .min(0)
      .lt(1)
      .default(0.02)
      .describe('Fraction by which the model must beat every baseline (0.05 = 5% better), tested for significance.'),
    significance: z
      .number()
      .gt(0)
      .max(0.5)
      .default(0.05)
      .describe(
        'Largest p-value of the one-sided Diebold-Mariano test (Newey-West variance over the overlapping forecasts) at which the model counts as better by the margin.',
      ),
  })
  .strict()
  .superRefine((gate, ctx) => {
    if (gate.minScored <= gate.window) return;
    const params: RefinementParams = {
      expected: `at most the window (${gate.window})`,
      detail: 'the record never holds that many',
    };
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minScored'], message: 'minScored above window', params });
  })
  .describe('Scores every past forecast against what happened; forecasts stay untradeable until the model beats the baselines.');

const calibrationSchema = z
  .object({
    probability: z.enum(PROBABILITY_CALIBRATIONS).default('none').describe('Calibration of P(up): none, isotonic or platt.'),
    bands: z.enum(BAND_CALIBRATIONS).default('none').describe('Calibration of band width: none or conformal.'),
    minSamples: z.number().int().positive().default(200).describe('Scored forecasts needed before calibration is applied.'),
  })
  .strict()
  .describe('Calibration fitted on the scored history.');

export const forecastSchema = z
  .object({
    lookback: z
      .number()
      .int()
      .min(16)
      .max(4096)
      .default(SHIPPED_MODEL_LOOKBACK)
      .describe("Bars of history each forecast sees; at most the model preset's context (shipped: 128). Default: the shipped model's training lookback."),
    horizon: z.number().int().min(1).max(512).default(24).describe('Bars ahead to forecast.'),
    paths: z.number().int().min(1).max(1024).default(32).describe('Monte Carlo sample paths per forecast.'),
    every: z.number().int().positive().default(1).describe('Forecast on every Nth closed candle.'),
    temperature: z.number().gt(0).max(2).default(1).describe('Sampling temperature.'),
    topK: z.number().int().min(0).default(0).describe('Keep only the k most likely tokens; 0 turns it off (top-k wins over top-p).'),
    topP: z.number().gt(0).max(1).default(0.9).describe('Nucleus sampling mass; 1 turns it off.'),
    seed: z.number().int().min(0).optional().describe('Sampling seed. Absent: a fresh seed per forecast.'),
    quantiles: quantilesSchema.default(DEFAULT_QUANTILES),
    executionProviders: uniqueListField(
      z.enum(EXECUTION_PROVIDERS),
      'execution provider',
      'ONNX Runtime execution providers in order of preference: cuda, webgpu, cpu.',
    ).default(['cpu']),
    skillGate: skillGateSchema.default({}),
    calibration: calibrationSchema.default({}),
  })
  .strict()
  .describe('How forecasts are sampled, summarised and scored.');
