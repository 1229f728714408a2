import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, timeframeToken } from './tokens.js';

/** Training progress, one message per reported step: `kokex.model.progress.{inst}.{tf}`. */
export const modelProgressSchema = z.object({
  inst: instrumentToken,
  tf: timeframeToken,
  jobId: z.string(),
  stage: z.enum(['prepare', 'tokenizer', 'predictor', 'export', 'store', 'done', 'failed']),
  epoch: z.number().int().nonnegative().optional(),
  step: z.number().int().nonnegative().optional(),
  totalSteps: z.number().int().nonnegative().optional(),
  loss: z.number().optional(),
  valLoss: z.number().optional(),
  /** Steps per second. */
  rate: z.number().nonnegative().optional(),
  etaSeconds: z.number().nonnegative().optional(),
  message: z.string().optional(),
});
export type ModelProgress = z.infer<typeof modelProgressSchema>;
export const ModelProgressContract = defineContract({ type: 'model.progress', version: 1, schema: modelProgressSchema });

/** A new model version stored in the object store: `kokex.model.ready.{inst}.{tf}`. */
export const modelReadySchema = z.object({
  inst: instrumentToken,
  tf: timeframeToken,
  name: z.string(),
  /** Content hash of the exported graphs (the card's version). */
  version: z.string(),
  /** Object-store names of the artifacts (ONNX graphs, card). */
  artifacts: z.array(z.string()).min(1),
  createdAt: z.number().int(),
  /** After this the model may not serve. */
  expiresAt: z.number().int(),
  /** Validation metrics from the card. */
  metrics: z.record(z.number()).default({}),
});
export type ModelReady = z.infer<typeof modelReadySchema>;
export const ModelReadyContract = defineContract({ type: 'model.ready', version: 1, schema: modelReadySchema });
