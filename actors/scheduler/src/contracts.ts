import { defineContract, describeTokenProblem, InvalidSubjectTokenError, instrumentToken, planToken, timeframeToken } from '@kokex/core';
import { z } from 'zod';
import { CHAIN_STAGES } from './config.js';

/**
 * The scheduler's messages. They live in the CLOCK stream (`kokex.clock.>`: a day's retention,
 * ten minutes of de-duplication), beside the clock's ticks, because a fire is a tick of a plan's
 * own clock. These families are not (yet) in core's subject builder; `scheduleSubject` checks the
 * tokens the same way.
 *
 * - `kokex.clock.fire.{plan}.{job}`: a job fell due. Every replica publishes it with the message id
 *   `fire:{plan}:{job}:{at}`, so the stream keeps one, and the shared durable hands it to one.
 * - `kokex.clock.stage.{plan}.{job}`: a stage of a run changed state (running, done, failed, skipped).
 * - `kokex.clock.decide.{plan}`: the scheduled-decision trigger for the plan's agent. An agent that
 *   answers publishes its intents with the trigger's correlation id (the run id), which the guard
 *   carries into its verdicts; that is how the execute stage finds them.
 */
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

export const STAGE_STATES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type StageState = (typeof STAGE_STATES)[number];

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

export const decisionTriggerSchema = z.object({
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
export type DecisionTrigger = z.infer<typeof decisionTriggerSchema>;
export const DecisionTriggerContract = defineContract({ type: 'schedule.decision', version: 1, schema: decisionTriggerSchema });

export const ScheduleSubjects = {
  fire: (plan: string, job: string) => scheduleSubject('fire', plan, job),
  stage: (plan: string, job: string) => scheduleSubject('stage', plan, job),
  decide: (plan: string) => scheduleSubject('decide', plan),
  fireFilter: 'kokex.clock.fire.>',
} as const;

function scheduleSubject(kind: string, ...tokens: string[]): string {
  for (const t of tokens) {
    const problem = describeTokenProblem(t);
    if (problem) throw new InvalidSubjectTokenError(kind === 'decide' ? 'plan' : 'plan or job', t, problem);
  }
  return ['kokex', 'clock', kind, ...tokens].join('.');
}
