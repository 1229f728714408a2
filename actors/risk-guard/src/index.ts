// Public face of @kokex/actor-risk-guard. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { orderCommand, ordersCommand, riskCommand } from './commands.js';
import { riskGuardActor } from './guard.js';

export { evaluateCancel, evaluateIntent } from './checks.js';
export { orderCommand, ordersCommand, riskCommand } from './commands.js';
export { describeCancelVerdict, describeEvent, describeVerdict, newClientOrderId } from './command-order.js';
export { BookRefusal, EXECUTOR_KIND, GUARD_KIND, PlanBooks, sourceIs } from './books.js';
export {
  BooksSnapshots,
  decodeBooksSnapshot,
  encodeBooksSnapshot,
  readSnapshotObject,
  SNAPSHOT_EVERY_MESSAGES,
  SNAPSHOT_EVERY_MS,
  SnapshotDecodeError,
  SnapshotIgnored,
  stringifySnapshot,
  writeSnapshotObject,
} from './books-snapshot.js';
export { executionVenueOf, guardConfigFromPlans, guardConfigSchema, guardPlanFrom, guardPlanSchema } from './config.js';
export {
  RiskErrorCode,
  RiskNoVerdictError,
  RiskPlanUnknownError,
  RiskPublishError,
  RiskStreamReadError,
} from './errors.js';
export { RISK_GUARD_CANCEL_DURABLE, RISK_GUARD_DURABLE, createRiskGuardLogic, riskGuardActor } from './guard.js';
export { InstrumentCache } from './instruments.js';
export { PlanLedger } from './ledger.js';
export { MarketView } from './market.js';
export { OrdersTail } from './orders-tail.js';
export { RISK_REASON_MEANINGS, RiskReason } from './reasons.js';
export { roundPrice, roundSize } from './rounding.js';
export { planSummary } from './summary.js';

export type { CancelDecision, CancelInput, Decision, DecisionInput, ForecastSnapshot, GuardedPlan, MarketSnapshot } from './checks.js';
export type { RefusedMessage } from './books.js';
export type { BooksSnapshotsOptions, SnapshotStatus } from './books-snapshot.js';
export type { GuardConfig, GuardPlan, InstrumentSpec } from './config.js';
export type {
  DecidedCancel,
  DecidedIntent,
  InstrumentQuote,
  Leg,
  LedgerFill,
  LedgerOrder,
  LedgerOrderState,
  LedgerValuation,
} from './ledger.js';
export type { MarketRefusals, MarketViewOptions, SeriesKey } from './market.js';
export type { PlanSummary } from './summary.js';

export default definePlugin({
  name: '@kokex/actor-risk-guard',
  version: '0.1.0',
  actors: [riskGuardActor],
  commands: [orderCommand, ordersCommand, riskCommand],
});
