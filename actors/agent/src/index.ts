// Public face of @kokex/actor-agent. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { agentActor } from './agent.js';
import { chatCommand } from './chat-command.js';
import { conversationsCommand } from './conversations-command.js';

export { AGENT_QUEUE, AgentDurables, agentActor, createAgentLogic, TRIGGER_DURABLES } from './agent.js';
export { agentConfigFromPlans, agentConfigSchema, agentPlanFrom, agentPlanSchema, providerConfig } from './config.js';
export { CHAT_SUBJECT_FILTER, DECIDE_SUBJECT_FILTER, chatSubject } from './subjects.js';
export { LLM_USAGE_EVENT, runConversation } from './conversation.js';
export { chatCommand, chatOnce, createChatCommand, newChatConversationId } from './chat-command.js';
export { conversationsCommand } from './conversations-command.js';
export {
  AgentBusyError,
  AgentChatRequestError,
  AgentChatUnavailableError,
  AgentConversationNotFoundError,
  AgentErrorCode,
  AgentModelError,
  AgentPlanUnknownError,
  AgentPromptTemplateError,
  AgentProviderError,
  AgentPublishError,
  AgentToolError,
} from './errors.js';
export { agentClientOrderId, intentMessageId } from './intents.js';
export { OrderEventBook } from './order-book.js';
export { DEFAULT_TEMPLATE, PROMPT_PLACEHOLDERS, buildSystemPrompt, forecastSummary, renderTemplate, tradeableSentence } from './prompt.js';
export { readTurns, replayLines, summarize } from './replay.js';
export { ToolRunner, boundTools, toolSchemas } from './tools.js';
export { conversationIdFor } from './triggers.js';

export type { ConversationRequest } from './agent.js';
export type { AgentConfig, AgentOptions, AgentPlan } from './config.js';
export type { ConversationDeps, ConversationInput } from './conversation.js';
export type { ChatStreams } from './chat-command.js';
export type { DerivedOrder, DerivedPosition } from './order-book.js';
export type { PromptPlaceholder, SystemPromptInput } from './prompt.js';
export type { ConversationSummary, StoredTurn } from './replay.js';
export type { ToolContext, ToolOutcome } from './tools.js';

export default definePlugin({
  name: '@kokex/actor-agent',
  version: '0.1.0',
  actors: [agentActor],
  commands: [chatCommand, conversationsCommand],
});
