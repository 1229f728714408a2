// Public face of @kokex/actor-history. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { historyActor } from './history.js';

export { historyConfigSchema } from './config.js';
export {
  HistoryErrorCode,
  HistoryMongoUnreachableError,
  HistoryMongoUrlError,
  HistoryWriteError,
  redactMongoUrl,
} from './errors.js';
export { createHistoryLogic, historyAccess, historyActor, idleStatusLine } from './history.js';
export {
  HistoryCollection,
  orderEventType,
  orderIdOf,
  projectApproved,
  projectIntent,
  projectOrderEvent,
  projectTurn,
  projectVerdict,
  UNKNOWN_PLAN,
} from './projection.js';
export { historyModels, historySchemas } from './schemas.js';
export { bulkOpsFor, MongoHistoryStore } from './store.js';
export { HISTORY_STORE } from './tokens.js';
export {
  AgentTurnContract,
  agentTurnMessageId,
  agentTurnSchema,
  CONVERSATION_END_REASONS,
  conversationToken,
  TURN_ROLES,
} from './turn-contract.js';

export type { HistoryConfig, HistoryOptions } from './config.js';
export type { HistoryWrite } from './projection.js';
export type { HistoryModels } from './schemas.js';
export type { ApplyResult, HistoryStore } from './store.js';
export type { AgentTurn, AgentTurnInput, ConversationEndReason } from './turn-contract.js';

/** The plugin: the `history` actor kind (manifest in package.json). */
export default definePlugin({ name: '@kokex/actor-history', version: '0.1.0', actors: [historyActor] });
