import {
  AgentTokenContract,
  AgentTurnContract,
  agentTokenSchema,
  agentTurnSchema,
  CONVERSATION_END_REASONS,
  conversationToken,
  defineContract,
  describeTokenProblem,
  InvalidSubjectTokenError,
  planToken,
} from '@kokex/core';
import type { AgentToken, AgentTurn, AgentTurnInput, ConversationEndReason } from '@kokex/core';

// The turn and token contracts live in core (history projects them); re-exported for this package's users.
export { AgentTokenContract, AgentTurnContract, agentTokenSchema, agentTurnSchema, CONVERSATION_END_REASONS, conversationToken };
export type { AgentToken, AgentTurn, AgentTurnInput, ConversationEndReason };
import { z } from 'zod';

const wireErrorSchema = z.object({ code: z.string(), message: z.string(), retryable: z.boolean(), data: z.record(z.unknown()).optional() });

/** `kokex chat` → agent, request/reply on `kokex.agent.chat.{plan}`. Earlier exchanges travel with each request, so any replica can answer. */
export const chatRequestSchema = z.object({
  conversation: conversationToken.optional(),
  message: z.string().min(1).max(8000),
  history: z
    .array(z.object({ role: z.enum(['user', 'assistant']), content: z.string().max(16_000) }))
    .max(40)
    .default([]),
});
export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatRequestInput = z.input<typeof chatRequestSchema>;

export interface ChatOutcome {
  conversation: string;
  reason: ConversationEndReason;
  answer: string;
  turns: number;
  toolCalls: number;
  tokens: { inputTokens: number; outputTokens: number };
  intents: string[];
}

export type ChatReply = ({ ok: true } & ChatOutcome) | { ok: false; error: z.infer<typeof wireErrorSchema> };

/**
 * The scheduler's decision trigger as the agent reads it: `schedule.decision` v1 on
 * `kokex.clock.decide.{plan}` (stream CLOCK), published by `actors/scheduler`. Only the fields the
 * agent uses are checked, so the scheduler may add others; the envelope's correlation id is the run
 * id, which the agent's intents carry so the scheduler's execute stage finds them.
 */
export const scheduledDecisionSchema = z
  .object({
    plan: planToken,
    at: z.number().optional(),
    job: z.string().optional(),
    runId: z.string().optional(),
  })
  .passthrough();
export const ScheduledDecisionContract = defineContract({ type: 'schedule.decision', version: 1, schema: scheduledDecisionSchema });

/** Where the scheduler publishes scheduled decisions (one plan per subject). */
export const DECIDE_SUBJECT_FILTER = 'kokex.clock.decide.*';

/** Every plan's chat subject, for the agent's queue subscription. */
export const CHAT_SUBJECT_FILTER = 'kokex.agent.chat.*';

/** Request subject of `kokex chat` (proposed core family `agentChat`). */
export function chatSubject(plan: string): string {
  return `kokex.agent.chat.${checkedPlan(plan)}`;
}

function checkedPlan(plan: string): string {
  const problem = describeTokenProblem(plan);
  if (problem) throw new InvalidSubjectTokenError('plan', plan, problem);
  return plan;
}
