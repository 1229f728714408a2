import { AGENT_TOOLS, AGENT_TRIGGERS, type Plan, parseDuration, planToken, timeframeToken, VENUE_MODES, venueToken } from '@kokex/core';
import { z } from 'zod';

/**
 * The agent's configuration: one entry per plan whose agent is enabled (derived from the plans),
 * and host settings. Derivation is pure; the prompt template file is read when a conversation
 * starts, so editing it needs no reload.
 */
export const agentPlanSchema = z
  .object({
    plan: planToken,
    venue: venueToken,
    mode: z.enum(VENUE_MODES),
    inst: z.string().min(1),
    tf: timeframeToken,
    /** Instruments order tools may name: the plan's, plus `risk.allowInstruments`. */
    instruments: z.array(z.string().min(1)).min(1),
    provider: z.string().min(1),
    model: z.string().optional(),
    baseUrl: z.string().optional(),
    temperature: z.number(),
    template: z.string().optional(),
    instructions: z.string().optional(),
    tools: z.array(z.enum(AGENT_TOOLS)),
    triggers: z.array(z.enum(AGENT_TRIGGERS)),
    limits: z.object({
      maxTurns: z.number().int().positive(),
      maxToolCalls: z.number().int().positive(),
      maxTokens: z.number().int().positive(),
      timeoutMs: z.number().int().positive(),
    }),
    /** The money limits the risk guard enforces, shown to the model so it does not waste intents. */
    risk: z.object({
      maxNotional: z.number(),
      maxPositionNotional: z.number(),
      maxDailyLoss: z.number(),
      maxOpenOrders: z.number(),
      requireTradeableForecast: z.boolean(),
    }),
    /** Starting balance of a paper plan (quote currency), for get_balance without a venue. */
    paperBalance: z.number().optional(),
  })
  .strict();
export type AgentPlan = z.output<typeof agentPlanSchema>;

export const agentConfigSchema = z
  .object({
    plans: z.array(agentPlanSchema).default([]),
    /** Settings per provider merged under what the plan gives (`{openai: {baseUrl: 'http://localhost:8000/v1'}}`). Never keys. */
    providers: z.record(z.record(z.unknown())).default({}),
    /** Ask the venue (its execution adapter, when this host has it loaded) for positions, orders and balances. False: derive them from ORDERS. Default true. */
    askVenue: z.boolean().default(true),
    /** Settings per execution adapter for those reads, merged under `{mode}` (`{okx: {simPort: 18080}}`). */
    venues: z.record(z.record(z.unknown())).default({}),
    /** Folders searched for a relative `prompt.template` after the plan file's own folder. Default: the working directory, then `plans/`. */
    promptDirs: z.array(z.string()).default([]),
    /** Conversations run at once by one instance; a trigger beyond it is retried. Default 4. */
    maxConcurrent: z.number().int().positive().default(4),
    /** Candles get_market returns when the model does not say. Default 20; at most 200. */
    marketCandles: z.number().int().positive().max(200).default(20),
    /** Order event kinds that start an order_event conversation. Default filled and canceled. */
    orderEventKinds: z.array(z.enum(['accepted', 'partially_filled', 'filled', 'canceled', 'rejected'])).default(['filled', 'canceled']),
    /** A forecast or candle older than the newest stored one of its series starts no conversation (a backlog after downtime). Default true. */
    skipStale: z.boolean().default(true),
    /** Bytes of one tool result given to the model and recorded. Default 6000. */
    maxToolResultChars: z.number().int().positive().default(6000),
  })
  .strict();
export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentOptions = z.input<typeof agentConfigSchema>;

export function agentPlanFrom(plan: Plan): AgentPlan | undefined {
  const { agent, venue, instrument, timeframe, risk } = plan.spec;
  if (!agent.enabled) return undefined;
  return {
    plan: plan.metadata.name,
    venue: venue.name,
    mode: venue.mode,
    inst: instrument,
    tf: timeframe,
    instruments: [...new Set([instrument, ...(risk.allowInstruments ?? [])])],
    provider: agent.provider,
    ...(agent.model ? { model: agent.model } : {}),
    ...(agent.baseUrl ? { baseUrl: agent.baseUrl } : {}),
    temperature: agent.temperature,
    ...(agent.prompt.template ? { template: agent.prompt.template } : {}),
    ...(agent.prompt.instructions ? { instructions: agent.prompt.instructions } : {}),
    tools: [...agent.tools],
    triggers: [...agent.triggers],
    limits: {
      maxTurns: agent.limits.maxTurns,
      maxToolCalls: agent.limits.maxToolCalls,
      maxTokens: agent.limits.maxTokens,
      timeoutMs: parseDuration(agent.limits.timeout) ?? 120_000,
    },
    risk: {
      maxNotional: risk.maxNotional,
      maxPositionNotional: risk.maxPositionNotional,
      maxDailyLoss: risk.maxDailyLoss,
      maxOpenOrders: risk.maxOpenOrders,
      requireTradeableForecast: risk.requireTradeableForecast,
    },
    ...(venue.mode === 'paper' && venue.paper ? { paperBalance: venue.paper.balance } : {}),
  };
}

export function agentConfigFromPlans(plans: readonly Plan[], base: AgentConfig): AgentConfig {
  const derived = plans.flatMap((p) => agentPlanFrom(p) ?? []).sort((a, b) => a.plan.localeCompare(b.plan));
  return { ...base, plans: derived };
}

/**
 * What the plan's provider is given: host settings for that provider, then the plan's fields. The
 * offline policy also follows the plan's `risk.requireTradeableForecast` (its `requireTradeable`),
 * so a plan that lets the guard pass unskilled forecasts (the simulator demo) lets the policy trade
 * on them; host settings may still override it.
 */
export function providerConfig(config: AgentConfig, plan: AgentPlan): Record<string, unknown> {
  return {
    ...(plan.provider === 'offline-policy' ? { requireTradeable: plan.risk.requireTradeableForecast } : {}),
    ...(config.providers[plan.provider] ?? {}),
    ...(plan.model ? { model: plan.model } : {}),
    ...(plan.baseUrl ? { baseUrl: plan.baseUrl } : {}),
    temperature: plan.temperature,
  };
}
