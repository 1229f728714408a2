import { z } from 'zod';
import type { WireError } from '../errors.js';
import { type ConversationEndReason, conversationToken } from './agent.js';

/**
 * `kokex chat` → agent, request/reply on `kokex.agent.chat.{plan}` (core NATS, queue group
 * `kokex-agent`). Earlier exchanges travel with each request, so any replica can answer.
 */
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

/** How a conversation ended, as the chat reply reports it. */
export interface ChatOutcome {
  conversation: string;
  reason: ConversationEndReason;
  answer: string;
  turns: number;
  toolCalls: number;
  tokens: { inputTokens: number; outputTokens: number };
  intents: string[];
}

export type ChatReply = ({ ok: true } & ChatOutcome) | { ok: false; error: WireError };
