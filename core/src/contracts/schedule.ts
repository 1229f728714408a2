import { z } from 'zod';
import { defineContract } from './envelope.js';
import { instrumentToken, planToken, timeframeToken } from './tokens.js';

/**
 * The scheduler's messages, in the CLOCK stream (`kokex.clock.>`: a day's retention, ten minutes of
 * de-duplication) beside the clock's ticks, because a fire is a tick of a plan's own clock.
 *
 * - `schedule.fire` on `kokex.clock.fire.{plan}.{job}`: a job fell due. Every replica publishes it
 *   with the message id `fire:{plan}:{job}:{at}`, so the stream keeps one, and the shared durable
 *   hands it to one.
 * - `schedule.stage` on `kokex.clock.stage.{plan}.{job}`: a stage of a run changed state.
 * - `schedule.decision` on `kokex.clock.decide.{plan}`: the scheduled-decision trigger for the plan's
 *   agent. An agent that answers publishes its intents with the trigger's correlation id (the run
 *   id), which the guard carries into its verdicts; that is how the execute stage finds them.
 */

/** The stages of a scheduled run, in order. */
export const CHAIN_STAGES = ['train', 'infer', 'decide', 'execute'] as const;
export type ChainStage = (typeof CHAIN_STAGES)[number];

export const STAGE_STATES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type StageState = (typeof STAGE_STATES)[number];

const jobName = z.string().regex(/^[A-Za-z0-9_-]+$/);

export const scheduleFireSchema = z.object({
  plan: planToken,
  job: jobName,
  /** The fire time it stands for (ms, UTC). */
  at: z.number().int(),
  schedule: z.string(),
  from: z.enum(['train', 'infer', 'decide']),
});
export type ScheduleFire = z.infer<typeof scheduleFireSchema>;
export const ScheduleFireContract = defineContract({ type: 'schedule.fire', version: 1, schema: scheduleFireSchema });

export const scheduleStageSchema = z.object({
  runId: z.string(),
  plan: planToken,
  job: jobName,
  stage: z.enum(CHAIN_STAGES),
  state: z.enum(STAGE_STATES),
  at: z.number().int(),
  /** What the stage produced (job id, forecast summary, verdict counts) or why it was skipped. */
  detail: z.record(z.unknown()).default({}),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ScheduleStage = z.infer<typeof scheduleStageSchema>;
export const ScheduleStageContract = defineContract({ type: 'schedule.stage', version: 1, schema: scheduleStageSchema });

/**
 * The scheduled-decision trigger: one declaration for its producer (the scheduler) and its reader
 * (the agent). The envelope's correlation id is the run id.
 */
export const scheduledDecisionSchema = z.object({
  plan: planToken,
  inst: instrumentToken,
  tf: timeframeToken,
  runId: z.string(),
  job: jobName,
  /** The fire time that led here. */
  at: z.number().int(),
  /** The forecast the infer stage produced, when it ran. */
  forecast: z
    .object({ id: z.string().optional(), asOf: z.number().optional(), tradeable: z.boolean().optional(), pUp: z.number().optional() })
    .optional(),
});
export type ScheduledDecision = z.infer<typeof scheduledDecisionSchema>;
export const ScheduledDecisionContract = defineContract({ type: 'schedule.decision', version: 1, schema: scheduledDecisionSchema });
