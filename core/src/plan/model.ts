import { z } from 'zod';
import { durationField, nameToken, probabilityField, scheduleField } from './fields.js';

/** Kronos configurations a retrain can build; `shipped` is the small one the repository ships. */
export const MODEL_PRESETS = ['shipped', 'mini', 'small', 'base'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

/**
 * The longest context, in bars, the predictor of each preset sees (`config.max_context` of its
 * model card). A forecast lookback above it is refused at plan validation: the predictor would
 * never see the older bars. The shipped card is checked against this table by the runtime's tests.
 */
export const MODEL_PRESET_CONTEXT: Readonly<Record<ModelPreset, number>> = { shipped: 128, mini: 2048, small: 512, base: 512 };

/** The lookback the shipped model was trained on (`config.lookback` of its card); the plan's default lookback. */
export const SHIPPED_MODEL_LOOKBACK = 96;

export const TRAINING_DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type TrainingDevice = (typeof TRAINING_DEVICES)[number];

const epochsSchema = z
  .object({
    tokenizer: z.number().int().positive().default(10).describe('Epochs of stage 1, the tokenizer.'),
    predictor: z.number().int().positive().default(10).describe('Epochs of stage 2, the predictor.'),
  })
  .strict()
  .describe('Training epochs per stage (early stopping may end a stage sooner).');

const retrainSchema = z
  .object({
    schedule: scheduleField('When to retrain: an interval (24h) or a five-field cron expression in UTC.'),
    window: durationField('History to train on. Default: data.window.').optional(),
    validationFraction: probabilityField('Newest fraction of the window held out for validation.').default(0.1),
    epochs: epochsSchema.default({}),
    patience: z.number().int().positive().default(3).describe('Epochs without a better validation loss before a stage stops early.'),
    device: z.enum(TRAINING_DEVICES).default('auto').describe('Training device; auto uses CUDA when present.'),
    seed: z.number().int().min(0).default(100).describe('Random seed, so a retrain can be reproduced.'),
  })
  .strict()
  .describe('Scheduled retraining. Absent: the model is only retrained on demand.');

export const modelSchema = z
  .object({
    name: nameToken('model name', 'Model registry name; each retrain adds a version under it.').default('kronos'),
    preset: z.enum(MODEL_PRESETS).default('shipped').describe('Kronos configuration a retrain builds.'),
    maxAge: durationField('A model version older than this is not served (registry expiry).').default('7d'),
    retrain: retrainSchema.optional(),
  })
  .strict()
  .describe('The Kronos model that forecasts, and when it is retrained.');
