import { z } from 'zod';
import { AGENT_TOOLS, AGENT_TRIGGERS } from '../plan/agent.js';
import { defineContract } from './envelope.js';
import { describeTokenProblem, planToken } from './tokens.js';

/**
 * The agent's audit trail and its streamed tokens. Every record of one conversation shares the
 * conversation id; `seq` orders them; the envelope's correlation id is the triggering message's,
 * so a conversation joins the candle → forecast → decision → verdict → order → fill chain.
 */
export const conversationToken = z.string().superRefine((s, ctx) => {
  const problem = describeTokenProblem(s);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `conversation id "${s}" ${problem}` });
});

export const TURN_ROLES = ['user', 'assistant'] as const;

export const CONVERSATION_END_REASONS = ['answered', 'max_turns', 'max_tool_calls', 'max_tokens', 'timeout', 'aborted', 'failed'] as const;
export type ConversationEndReason = (typeof CONVERSATION_END_REASONS)[number];

const usageSchema = z.object({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() });
const wireErrorSchema = z.object({ code: z.string(), message: z.string(), retryable: z.boolean(), data: z.record(z.unknown()).optional() });
const toolCallSchema = z.object({ id: z.string(), name: z.string(), args: z.record(z.unknown()) });

const recordHead = {
  plan: planToken,
  conversation: conversationToken,
  trigger: z.enum(AGENT_TRIGGERS),
  /** Which exchange of the conversation (a chat's n-th message; 0 for triggered ones). */
  part: z.number().int().nonnegative().default(0),
  /** Order of this record within its part, from 0. */
  seq: z.number().int().nonnegative(),
};

/** One record per message on `kokex.agent.turn.{plan}` (stream AGENT). */
export const agentTurnSchema = z.discriminatedUnion('record', [
  z.object({
    ...recordHead,
    record: z.literal('started'),
    provider: z.string(),
    model: z.string().optional(),
    inst: z.string(),
    tf: z.string(),
    tools: z.array(z.enum(AGENT_TOOLS)),
    limits: z.object({ maxTurns: z.number(), maxToolCalls: z.number(), maxTokens: z.number(), timeoutMs: z.number() }),
    /** The system prompt as sent, and the message that opened the conversation. */
    system: z.string(),
    input: z.string(),
    /** The triggering message: its subject and id (the envelope's correlation id links the chain). */
    cause: z.object({ subject: z.string().optional(), id: z.string(), type: z.string().optional() }),
  }),
  z.object({
    ...recordHead,
    record: z.literal('message'),
    role: z.enum(TURN_ROLES),
    /** Model turn this message belongs to (1-based; 0 for the opening user message). */
    turn: z.number().int().nonnegative(),
    content: z.string(),
    toolCalls: z.array(toolCallSchema).default([]),
    usage: usageSchema.optional(),
  }),
  z.object({
    ...recordHead,
    record: z.literal('tool_call'),
    turn: z.number().int().positive(),
    callId: z.string(),
    tool: z.string(),
    args: z.record(z.unknown()),
  }),
  z.object({
    ...recordHead,
    record: z.literal('tool_result'),
    turn: z.number().int().positive(),
    callId: z.string(),
    tool: z.string(),
    ok: z.boolean(),
    /** What the model was given (JSON text), cut to a bound. */
    content: z.string(),
    error: wireErrorSchema.optional(),
    /** The intent an order tool published. */
    intent: z.object({ clientOrderId: z.string(), subject: z.string(), messageId: z.string(), cancels: z.string().optional() }).optional(),
  }),
  z.object({
    ...recordHead,
    record: z.literal('ended'),
    reason: z.enum(CONVERSATION_END_REASONS),
    turns: z.number().int().nonnegative(),
    toolCalls: z.number().int().nonnegative(),
    tokens: usageSchema,
    costUsd: z.number().nonnegative().default(0),
    answer: z.string().optional(),
    error: wireErrorSchema.optional(),
    /** Client order ids of the intents this conversation published. */
    intents: z.array(z.string()).default([]),
    durationMs: z.number().nonnegative(),
  }),
]);
export type AgentTurn = z.output<typeof agentTurnSchema>;
export type AgentTurnInput = z.input<typeof agentTurnSchema>;
export const AgentTurnContract = defineContract({ type: 'agent.turn', version: 1, schema: agentTurnSchema });

/** Streamed on core NATS `kokex.agent.token.{plan}.{conversation}`: model text as it arrives, tool activity, the end. */
export const agentTokenSchema = z.object({
  plan: planToken,
  conversation: conversationToken,
  seq: z.number().int().nonnegative(),
  kind: z.enum(['text', 'tool', 'end']),
  text: z.string(),
});
export type AgentToken = z.output<typeof agentTokenSchema>;
export const AgentTokenContract = defineContract({ type: 'agent.token', version: 1, schema: agentTokenSchema });

/** The de-duplication id of a turn record: a redelivered trigger reproduces the same ids. */
export function agentTurnMessageId(turn: { conversation: string; part?: number; seq: number }): string {
  return `agent:${turn.conversation}:${turn.part ?? 0}:${turn.seq}`;
}
