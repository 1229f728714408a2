// Public face of @kokex/actor-dashboard. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { dashboardActor } from './dashboard.js';

export {
  BacktestsError,
  BacktestsLibrary,
  backtestsDirOf,
  DEFAULT_BACKTESTS_DIR,
  MAX_REPORT_BYTES,
  MAX_REPORTS,
  SCAN_DEPTH,
  shownReportSchema,
} from './backtests.js';
export { DEFAULT_DASHBOARD_PORT, dashboardConfigSchema, portOf } from './config.js';
export {
  ACTOR_VERBS,
  actorCommand,
  applyPlanText,
  chatCommand,
  chatHistory,
  RISK_VERBS,
  riskCommand,
  validatePlanText,
} from './control.js';
export { createDashboardLogic, dashboardActor, resolveToken, TOKEN_FILE } from './dashboard.js';
export { DashboardErrorCode, DashboardUnauthorizedError, DashboardWebMissingError } from './errors.js';
export {
  actorView,
  CONTROL_KEY_PREFIX,
  decodeStored,
  forecastView,
  LIVE_SUBJECTS,
  MAX_DETAIL_CHARS,
  orderEvent,
  READ_STREAMS,
  startFeeds,
  turnEvent,
  WATCHED_BUCKETS,
} from './feeds.js';
export { applyEvent, DEFAULT_LIMITS, emptyModel, positions } from './model.js';
export { DashboardServer, newToken } from './server.js';
export { ensureWebBuilt, WEB_DIST_DIR, WEB_SOURCE_DIR } from './web-build.js';

export type { BacktestListing } from './backtests.js';
export type { DashboardConfig, DashboardOptions } from './config.js';
export type { ActorVerb, ChatAnswer, ChatTurn, RiskVerb } from './control.js';
export type {
  ActorView,
  AuditEntry,
  BarView,
  CancelView,
  ControlView,
  ConversationView,
  DashboardEvent,
  DashboardModel,
  ForecastView,
  IntentView,
  ModelLimits,
  OrderEventView,
  OrderRow,
  PlanView,
  PositionView,
  SeriesView,
  TokenView,
  TurnView,
  VerdictView,
} from './model.js';
export type { DashboardServerOptions } from './server.js';

export default definePlugin({ name: '@kokex/actor-dashboard', version: '0.1.0', actors: [dashboardActor] });
