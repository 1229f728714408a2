// Public face of @kokex/actor-executor. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { executorActor } from './executor.js';

export { executorConfigFromPlans, executorConfigSchema, executorRouteSchema, routeFrom } from './config.js';
export {
  ExecApprovalUnverifiedError,
  ExecErrorCode,
  ExecNoExecutionAdapterError,
  ExecPlaceRetryableError,
  ExecPublishError,
  ExecVenueUnavailableError,
  isRetryable,
} from './errors.js';
export { eventFromVenue, eventKindOf, eventMessageId, isFinal, rejectionOf } from './events.js';
export { APPROVAL_UNVERIFIED, createExecutorLogic, executorActor, executorCancelDurable, executorDurable } from './executor.js';
export { canTrade, SESSION_STATES, venueSessionMachine } from './machine.js';
export { OrderRecords, recordKey } from './records.js';
export { VenueSession } from './session.js';
export { checkApproval, VERDICT_WINDOW, verdictMismatch } from './verdicts.js';

export type { ExecutorConfig, ExecutorRoute } from './config.js';
export type { OrderEventKind } from './events.js';
export type { SessionContext, SessionEvent, SessionState } from './machine.js';
export type { OrderRecord } from './records.js';
export type { SessionEnv, SessionSpec } from './session.js';
export type { VerdictCheck } from './verdicts.js';

export default definePlugin({ name: '@kokex/actor-executor', version: '0.1.0', actors: [executorActor] });
