import { instrumentToken, parseDuration, type Plan, planToken, timeframeToken, VENUE_MODES, venueToken } from '@kokex/core';
import { z } from 'zod';

/**
 * What the scheduler runs: jobs (a plan, a schedule, the stage the chain starts from), derived from
 * the plans and extendable by hand in the host config.
 *
 * - `retrain` from `spec.model.retrain.schedule`: train → infer → decide → execute;
 * - `decide` from `spec.agent.schedule` (when the triggers include `scheduled_decision`):
 *   infer → decide → execute.
 * The decide and execute stages run only for plans whose agent is enabled and listens to
 * `scheduled_decision`; otherwise the agent already reacts to the new forecast on its own.
 */
const jobNameToken = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a job name: letters, digits, - and _');

export const scheduledJobSchema = z
  .object({
    plan: planToken,
    job: jobNameToken,
    /** An interval (`24h`) or a five-field cron expression (UTC). */
    schedule: z.string().min(1),
    from: z.enum(['train', 'infer', 'decide']),
    venue: venueToken,
    /** The plan's venue mode: which market clock the job fires on (`sim`: the time of the plan's candles). Default live. */
    mode: z.enum(VENUE_MODES).default('live'),
    inst: instrumentToken,
    tf: timeframeToken,
    /** Whether the decide and execute stages run (the plan's agent takes scheduled decisions). */
    decide: z.boolean(),
    /** How long the execute stage collects the verdicts that answer a decision. */
    decisionWindowMs: z.number().int().positive(),
  })
  .strict();
export type ScheduledJob = z.output<typeof scheduledJobSchema>;

export const schedulerConfigSchema = z
  .object({
    /** Derived from the plans. */
    jobs: z.array(scheduledJobSchema).default([]),
    /** Written by hand; a job with the same plan and name as a derived one replaces it. */
    extraJobs: z.array(scheduledJobSchema).default([]),
    /** How long a trainer or inferencer has to answer a request. Default 10,000 ms. */
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** How long a training job may run before the stage fails. Default 6 h. */
    trainTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(6 * 3_600_000),
    /** Overrides every job's decision window (tests, fast demos). */
    decisionWindowMs: z.number().int().positive().optional(),
    /** A fire delivered later than this after its time (the scheduler was down) is skipped, not run. Default 5 min. */
    lateAfterMs: z.number().int().positive().default(300_000),
    /** Runs kept in the status detail. Default 10. */
    keepRuns: z.number().int().positive().default(10),
  })
  .strict();
export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;

export function jobsFromPlan(plan: Plan): ScheduledJob[] {
  const { spec } = plan;
  const agent = spec.agent;
  const decide = agent.enabled && agent.triggers.includes('scheduled_decision');
  const base = {
    plan: plan.metadata.name,
    venue: spec.venue.name,
    mode: spec.venue.mode,
    inst: spec.instrument,
    tf: spec.timeframe,
    decide,
    decisionWindowMs: parseDuration(agent.limits.timeout) ?? 120_000,
  };
  const jobs: ScheduledJob[] = [];
  if (spec.model.retrain) jobs.push({ ...base, job: 'retrain', schedule: spec.model.retrain.schedule, from: 'train' });
  if (decide && agent.schedule) jobs.push({ ...base, job: 'decide', schedule: agent.schedule, from: 'infer' });
  return jobs;
}

export function schedulerConfigFromPlans(plans: readonly Plan[], base: SchedulerConfig): SchedulerConfig {
  return { ...base, jobs: plans.flatMap(jobsFromPlan).sort((a, b) => `${a.plan}.${a.job}`.localeCompare(`${b.plan}.${b.job}`)) };
}

/** Derived jobs with the hand-written ones laid over them. */
export function effectiveJobs(config: SchedulerConfig): ScheduledJob[] {
  const key = (j: ScheduledJob) => `${j.plan}.${j.job}`;
  const extra = new Set(config.extraJobs.map(key));
  return [...config.jobs.filter((j) => !extra.has(key(j))), ...config.extraJobs];
}
