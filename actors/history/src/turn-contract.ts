// The agent.turn contract lives in core; re-exported here for the projection code.
export {
  AgentTurnContract,
  agentTurnMessageId,
  agentTurnSchema,
  CONVERSATION_END_REASONS,
  conversationToken,
  TURN_ROLES,
} from '@kokex/core';
export type { AgentTurn, AgentTurnInput, ConversationEndReason } from '@kokex/core';
