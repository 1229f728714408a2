import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  instrumentToken,
  MODEL_PRESET_CONTEXT,
  MODEL_PRESETS,
  type ModelPreset,
  type Plan,
  parseDuration,
  TRAINING_DEVICES,
  timeframeToken,
  VENUE_MODES,
  venueToken,
} from '@kokex/core';
import { z } from 'zod';

/**
 * The trainer's configuration: how to run Python (host settings, from the host's config under
 * `trainer:`) and what to train (the targets, derived from the active plans by `targetsFromPlans`).
 */

/** `models/kronos` of this checkout, found from this file so it works from any working directory. */
export const DEFAULT_KRONOS_DIR = fileURLToPath(new URL('../../../models/kronos', import.meta.url));
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** Kronos configurations of `python3 -m kronos train --model`, and the context each can see. */
/** Each preset's Python model size; its context is core's (`MODEL_PRESET_CONTEXT`), the one plans are validated against. */
export const PRESET_MODELS: Readonly<Record<ModelPreset, { model: string; maxContext: number }>> = {
  shipped: { model: 'tiny', maxContext: MODEL_PRESET_CONTEXT.shipped },
  mini: { model: 'mini', maxContext: MODEL_PRESET_CONTEXT.mini },
  small: { model: 'small', maxContext: MODEL_PRESET_CONTEXT.small },
  base: { model: 'base', maxContext: MODEL_PRESET_CONTEXT.base },
};

/** One (plan, instrument, timeframe) the trainer can train, with everything a job needs from the plan. */
export const trainingTargetSchema = z
  .object({
    plan: z.string().min(1),
    venue: venueToken,
    /** The plan's venue mode: which market clock its schedule and window run on (`sim`: the data's time). */
    mode: z.enum(VENUE_MODES).default('live'),
    inst: instrumentToken,
    tf: timeframeToken,
    /** Model registry name. */
    name: z.string().min(1),
    preset: z.enum(MODEL_PRESETS),
    maxAgeMs: z.number().int().positive(),
    /** History trained on, counted back from the newest stored bar. */
    windowMs: z.number().int().positive(),
    /** Retrain schedule text (interval or cron); absent: on demand only. */
    schedule: z.string().optional(),
    validationFraction: z.number().gt(0).lt(1),
    tokenizerEpochs: z.number().int().positive(),
    predictorEpochs: z.number().int().positive(),
    patience: z.number().int().positive(),
    device: z.enum(TRAINING_DEVICES),
    seed: z.number().int().nonnegative(),
    /** Bars whose statistics normalise a training window, and bars after them. */
    lookback: z.number().int().min(2),
    horizon: z.number().int().positive(),
  })
  .strict();
export type TrainingTarget = z.infer<typeof trainingTargetSchema>;

const trainingSettingsSchema = z
  .object({
    /** Optimizer steps per epoch. Default 50 (the shipped model's). */
    stepsPerEpoch: z.number().int().positive().default(50),
    /** Windows per step. Default 32. */
    batchSize: z.number().int().positive().default(32),
    /** Validation windows per epoch. Default 256. */
    valWindows: z.number().int().positive().default(256),
    /** Overrides the plans' lookback (forecast.lookback, fitted to the preset's context). */
    lookback: z.number().int().min(2).optional(),
    /** Overrides the plans' horizon. */
    horizon: z.number().int().positive().optional(),
    /** Overrides the plans' epochs per stage (tests and smoke runs). */
    epochs: z.number().int().positive().optional(),
    /** torch CPU threads. Default: torch's choice. */
    threads: z.number().int().positive().optional(),
    /** Wall-clock cap per stage, in minutes. Default: none. */
    maxMinutes: z.number().positive().optional(),
    /** More `python3 -m kronos train` arguments, appended as given (`--tokenizer-lr 3e-3`). */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

export const trainerConfigSchema = z
  .object({
    /** Interpreter with torch, onnx and numpy. Default: $KOKEX_PYTHON, else /usr/bin/python3 (Debian's). */
    python: z
      .string()
      .min(1)
      // The CLI hosts take no per-actor config, so the environment is how an operator points at another interpreter.
      .default(process.env.KOKEX_PYTHON || DEFAULT_PYTHON),
    /** The Python package's directory (the subprocess's working directory). Default: models/kronos of this checkout. */
    kronosDir: z.string().min(1).default(DEFAULT_KRONOS_DIR),
    /** Where jobs write their CSV, run and export directories. Default: {tmpdir}/kokex-trainer. */
    workDir: z.string().min(1).default(join(tmpdir(), 'kokex-trainer')),
    /** Keep each job's directory after it ends (for debugging). Default false. */
    keepWorkDir: z.boolean().default(false),
    /** Jobs this instance runs at once (each on a different instrument and timeframe). Default 1: training uses every core. */
    concurrency: z.number().int().positive().default(1),
    /** Jobs waiting beyond the running ones. Default 16. */
    maxQueued: z.number().int().nonnegative().default(16),
    /** Least time between two relayed step messages of a job; validation and stage ends always go. Default 500 ms. */
    progressIntervalMs: z.number().int().nonnegative().default(500),
    /** Grace between SIGTERM and SIGKILL when a job is cancelled. Default 5000 ms. */
    killGraceMs: z.number().int().nonnegative().default(5000),
    training: trainingSettingsSchema.default({}),
    /** What to train; filled from the plans (a hand-written list also works, e.g. without plans). */
    targets: z.array(trainingTargetSchema).default([]),
  })
  .strict();
export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
export type TrainingSettings = TrainerConfig['training'];

/**
 * Fits a training window to the preset's context: `lookback + horizon - 1` must not exceed it.
 * The horizon is kept (at most a quarter of the context) and the lookback shortened, since a
 * forecast can always look back less than a plan asks but must reach as far ahead.
 */
export function fitWindow(lookback: number, horizon: number, maxContext: number): { lookback: number; horizon: number } {
  if (lookback + horizon - 1 <= maxContext) return { lookback, horizon };
  const fittedHorizon = Math.min(horizon, Math.floor(maxContext / 4));
  return { lookback: Math.min(lookback, maxContext + 1 - fittedHorizon), horizon: fittedHorizon };
}

/** The defaults of `spec.model.retrain` (docs/plans.md), for plans that train on demand only. */
const RETRAIN_DEFAULTS = {
  validationFraction: 0.1,
  epochs: { tokenizer: 10, predictor: 10 },
  patience: 3,
  device: 'auto',
  seed: 100,
} as const;

export function targetFromPlan(plan: Plan): TrainingTarget {
  const { spec } = plan;
  const retrain = spec.model.retrain;
  const window = parseDuration(retrain?.window ?? spec.data.window);
  const maxAge = parseDuration(spec.model.maxAge);
  const fitted = fitWindow(spec.forecast.lookback, spec.forecast.horizon, PRESET_MODELS[spec.model.preset].maxContext);
  return {
    plan: plan.metadata.name,
    venue: spec.venue.name,
    mode: spec.venue.mode,
    inst: spec.instrument,
    tf: spec.timeframe,
    name: spec.model.name,
    preset: spec.model.preset,
    // Plans are validated, so both durations parse; the fallbacks only keep the types honest.
    maxAgeMs: maxAge ?? 7 * 86_400_000,
    windowMs: window ?? 30 * 86_400_000,
    ...(retrain ? { schedule: retrain.schedule } : {}),
    validationFraction: retrain?.validationFraction ?? RETRAIN_DEFAULTS.validationFraction,
    tokenizerEpochs: retrain?.epochs.tokenizer ?? RETRAIN_DEFAULTS.epochs.tokenizer,
    predictorEpochs: retrain?.epochs.predictor ?? RETRAIN_DEFAULTS.epochs.predictor,
    patience: retrain?.patience ?? RETRAIN_DEFAULTS.patience,
    device: retrain?.device ?? RETRAIN_DEFAULTS.device,
    seed: retrain?.seed ?? RETRAIN_DEFAULTS.seed,
    ...fitted,
  };
}

/** Every plan is a target (on demand); those with `spec.model.retrain` are also scheduled. Sorted by plan name, so the derived config is stable. */
export function targetsFromPlans(plans: readonly Plan[]): TrainingTarget[] {
  return plans.map(targetFromPlan).sort((a, b) => a.plan.localeCompare(b.plan));
}

/** The lease and queue key: one job at a time per instrument and timeframe. */
export function targetKey(target: Pick<TrainingTarget, 'inst' | 'tf'>): string {
  return `${target.inst}.${target.tf}`;
}
