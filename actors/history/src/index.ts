// Public face of @kokex/actor-history. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { historyActor } from './history.js';

export { HistoryCollection } from '@kokex/core';
export { historyConfigSchema } from './config.js';
export { HistoryErrorCode, HistoryWriteError } from './errors.js';
export { createHistoryLogic, historyAccess, historyActor, idleStatusLine } from './history.js';
export {
  orderEventType,
  orderIdOf,
  projectApproved,
  projectIntent,
  projectOrderEvent,
  projectTurn,
  projectVerdict,
  UNKNOWN_PLAN,
} from './projection.js';

export type { HistoryApplyResult, HistoryStore, HistoryWrite, HistoryWriteIssue } from '@kokex/core';
export type { HistoryConfig, HistoryOptions } from './config.js';

/** The plugin: the `history` actor kind (manifest in package.json). */
export default definePlugin({ name: '@kokex/actor-history', version: '0.1.0', actors: [historyActor] });
