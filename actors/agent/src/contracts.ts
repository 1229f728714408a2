import {
  AgentTokenContract,
  AgentTurnContract,
  agentTokenSchema,
  agentTurnSchema,
  CONVERSATION_END_REASONS,
  chatRequestSchema,
  conversationToken,
  ScheduledDecisionContract,
  scheduledDecisionSchema,
  subject,
  subjectFilter,
} from '@kokex/core';
import type {
  AgentToken,
  AgentTurn,
  AgentTurnInput,
  ChatOutcome,
  ChatReply,
  ChatRequest,
  ChatRequestInput,
  ConversationEndReason,
  ScheduledDecision,
} from '@kokex/core';

// Every message the agent reads or writes is declared once in core (the turn and token records,
// the chat request and reply, the scheduler's `schedule.decision` trigger); re-exported here for
// this package's users, with the subjects built by core's subject builder.
export {
  AgentTokenContract,
  AgentTurnContract,
  agentTokenSchema,
  agentTurnSchema,
  CONVERSATION_END_REASONS,
  chatRequestSchema,
  conversationToken,
  ScheduledDecisionContract,
  scheduledDecisionSchema,
};
export type {
  AgentToken,
  AgentTurn,
  AgentTurnInput,
  ChatOutcome,
  ChatReply,
  ChatRequest,
  ChatRequestInput,
  ConversationEndReason,
  ScheduledDecision,
};

/** Where the scheduler publishes scheduled decisions (`kokex.clock.decide.*`, one plan per subject). */
export const DECIDE_SUBJECT_FILTER = subjectFilter('scheduleDecision');

/** Every plan's chat subject (`kokex.agent.chat.*`), for the agent's queue subscription. */
export const CHAT_SUBJECT_FILTER = subjectFilter('agentChat');

/** Request subject of `kokex chat`: `kokex.agent.chat.{plan}`. */
export function chatSubject(plan: string): string {
  return subject('agentChat', { plan });
}
