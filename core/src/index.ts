// Public face of @kokex/core. Explicit exports only: values first, then types.

// errors
export { KokexError, ErrorCode, errorFromWire, isKokexError, toWireError } from './errors.js';
// contracts
export { causedBy, defineContract, InvalidMessageError, SchemaVersionError } from './contracts/envelope.js';
export { backtestFigures, stable } from './backtest/figures.js';
export { BacktestDataError, GAP_POLICIES, loadBacktestData } from './backtest/data.js';
export { runBacktest } from './backtest/run.js';
export { buildReport, REPORT_SCHEMA, reportJson } from './backtest/report.js';
export { compareRuns, comparisonTable, readReport } from './backtest/compare.js';
export { renderHtml } from './backtest/html.js';
export { EventMarketClock, MarketClockKind, MarketClocks, marketClockFor, marketNow, wallMarketClock } from './time/market-clock.js';
export { nextScheduleFire, scheduleFiresBetween } from './time/fire-times.js';
export { ScheduleTimers } from './time/schedule-timers.js';
export { candleSchema, CandleContract, RawCandleContract } from './contracts/market.js';
export { CandleFault, QUARANTINE_ORIGINS, QualityContract, qualityReportSchema, quarantineSchema } from './contracts/quality.js';
export { ClockTickContract, DEAD_LETTER_EXCERPT_BYTES, DeadLetterContract, PlanChangedContract } from './contracts/system.js';
export {
  ApprovedOrderContract,
  INTENT_ORIGINS,
  ORDER_EVENT_KINDS,
  ORDER_SIDES,
  ORDER_TYPES,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  ApprovedCancelContract,
  BASIS_KINDS,
  CancelRequestContract,
  CancelVerdictContract,
  approvalMismatch,
  approvedCancelSchema,
  approvedOrderSchema,
  cancelRequestSchema,
  cancelVerdictSchema,
  clientOrderId,
  decisionBasisSchema,
  orderEventSchema,
  orderIntentSchema,
  orderVerdictSchema,
} from './contracts/orders.js';
export {
  RECONCILE_DIFFERENCE_KINDS,
  RECONCILE_MAX_ITEMS,
  RECONCILE_STATUSES,
  ReconcileContract,
  reconcileDifferenceSchema,
  reconcileSchema,
} from './contracts/reconcile.js';
export {
  BOOKS_SNAPSHOT_OBJECT,
  BOOKS_SNAPSHOT_SCHEMA,
  booksSnapshotSchema,
  ledgerFillSnapshotSchema,
  ledgerOrderSnapshotSchema,
  ledgerSnapshotSchema,
} from './contracts/books-snapshot.js';
export { ModelProgressContract, ModelReadyContract, modelProgressSchema, modelReadySchema } from './contracts/model.js';
export { ForecastContract, forecastSchema, skillSummarySchema } from './contracts/forecast.js';
export {
  AgentTokenContract,
  AgentTurnContract,
  CONVERSATION_END_REASONS,
  TURN_ROLES,
  agentTokenSchema,
  agentTurnMessageId,
  agentTurnSchema,
  conversationToken,
} from './contracts/agent.js';
export {
  CHAIN_STAGES,
  STAGE_STATES,
  ScheduleFireContract,
  ScheduleStageContract,
  ScheduledDecisionContract,
  scheduleFireSchema,
  scheduleStageSchema,
  scheduledDecisionSchema,
} from './contracts/schedule.js';
export { chatRequestSchema } from './contracts/chat.js';
export { TRAINER_QUEUE_GROUP, TrainerEndpoints } from './contracts/trainer.js';
export { InferencerEndpoints } from './contracts/inferencer.js';
export {
  SIM_CONTROL_KIND,
  SimControlEndpoints,
  simControlStateSchema,
  simOrderStateSchema,
  simStepRequestSchema,
} from './contracts/sim-control.js';
export {
  TOKEN_PATTERN,
  describeTokenProblem,
  venueToken,
  instrumentToken,
  planToken,
  timeframeToken,
} from './contracts/tokens.js';
// time
export {
  TIMEFRAMES,
  UnknownTimeframeError,
  isTimeframe,
  assertTimeframe,
  timeframeMs,
  barOpen,
  barClose,
  nextBarOpen,
} from './time/timeframe.js';
export { ManualClock, systemClock } from './time/clock.js';
// market data: series keys, the one candle check, aggregation, plan series
export {
  aggregateBars,
  CANDLE_CHECK_LEVELS,
  CandleStoreError,
  canAggregate,
  candleProblems,
  describeProblems,
  lastCandleMessage,
  marketSeriesSchema,
  ohlcProblems,
  planSeriesConfigFields,
  problemFaults,
  publishRawCandles,
  readCandleMessages,
  sameBar,
  seriesFromPlans,
  seriesId,
  storedCandles,
  withPlanSeries,
} from './market/index.js';
// configuration
export { DEFAULT_NATS_URL, kokexHome, natsUrlFile, resolveNatsUrl } from './config.js';
// bus
export { connectBus, NatsUnreachableError } from './bus/bus.js';
export { NatsServerMissingError, NatsServerProcess, freePort, isPortFree, natsServerAvailable } from './bus/nats-server.js';
export {
  SUBJECT_FAMILIES,
  InvalidSubjectError,
  InvalidSubjectTokenError,
  actorRequestSubject,
  candleMessageId,
  controlSubject,
  parseSubject,
  subject,
  subjectFilter,
  subjectPrefix,
} from './bus/subjects.js';
export {
  CATALOGUE_BEGIN,
  CATALOGUE_END,
  SUBJECT_CATALOGUE,
  Transport,
  renderCatalogueTables,
  subjectPattern,
  withCatalogueTables,
} from './bus/catalogue.js';
export { ACTOR_STATUS_TTL_MS, Buckets, KOKEX_TOPOLOGY, ObjectStores, ORDERS_MAX_MSGS, Streams, streamOf, subjectMatches } from './bus/topology.js';
export { ProvisionError, provision, provisionKv, provisionObjectStore, provisionReplicas, provisionStream } from './bus/provision.js';
export { DurableWorker, consumerConfig, ensureConsumer, utf8Excerpt } from './bus/consumer.js';
export { contextFrom, inHandlerSpan, inPublishSpan, startTracing, traceHeaders, tracingRequested } from './telemetry/tracing.js';
// logging and DI
export { LOG_FORMATS, REDACTED, createLogger, formatLogLine, humanLogDestination, isSecretKey, redactSecrets } from './log/logger.js';
export { AdapterPort, Tokens } from './di/tokens.js';
export { createHostContainer } from './di/container.js';
// actors and host
export { checkDeclaredConsumers, consume, defineActorKind } from './host/actor.js';
export { LifecycleState, lifecycleMachine, restartDelay } from './host/lifecycle.js';
export { ActorInstance, newInstanceId } from './host/instance.js';
export { ActorHost } from './host/host.js';
export { HostMetrics, LATENCY_BUCKETS_SECONDS } from './host/metrics.js';
export { HealthServer, liveness, readiness } from './host/health.js';
export { actorRequestGroup, addControlEndpoint, instanceControlGroup } from './host/control.js';
// deployment: per-actor NATS users and permissions
export {
  EMPTY_ACCESS,
  accessOf,
  buildUsers,
  declaredAccess,
  inboxPrefixFor,
  mergeAccess,
  permissionsFor,
  renderNatsConfig,
  sameConsumer,
} from './deploy/access.js';
// model registry
export {
  ANY,
  ModelNotFoundError,
  artifactName,
  fetchArtifact,
  latestModel,
  modelKey,
  registerModel,
  registerModelDirectory,
} from './models/registry.js';
// ports: what actors need from adapters
export { AdapterRegistry, adapterFor } from './ports/registry.js';
export { HISTORY_KEYS, HistoryCollection } from './ports/store.js';
// plugins
export {
  HOST_VERSION,
  PluginManifestError,
  definePlugin,
  pluginManifestSchema,
  readPluginPackage,
  satisfiesRange,
} from './plugin/manifest.js';
export { PluginLoadError, PluginRegistry, discoverPlugins, loadPlugin } from './plugin/loader.js';
// plans
export { planSchema, PLAN_API_VERSION, PLAN_KIND } from './plan/schema.js';
export { parsePlan, parsePlans, loadPlanFile, loadPlansFile } from './plan/load.js';
export { PlanInvalidError, PlanNotFoundError } from './plan/errors.js';
export { planJsonSchema, planJsonSchemaText, PLAN_JSON_SCHEMA_ID } from './plan/json-schema.js';
export { parseDuration, parseSchedule, describeDurationProblem, describeScheduleProblem, DURATION_PATTERN } from './plan/schedule.js';
export { VENUE_MODES } from './plan/venue.js';
export { DATA_SOURCES } from './plan/data.js';
export { MODEL_PRESET_CONTEXT, MODEL_PRESETS, SHIPPED_MODEL_LOOKBACK, TRAINING_DEVICES } from './plan/model.js';
export {
  EXECUTION_PROVIDERS,
  SKILL_BASELINES,
  SKILL_METRICS,
  PROBABILITY_CALIBRATIONS,
  BAND_CALIBRATIONS,
  DEFAULT_QUANTILES,
} from './plan/forecast.js';
export { AGENT_TOOLS, AGENT_TRIGGERS } from './plan/agent.js';
export { intentTtlMs, TRADING_STATES } from './plan/risk.js';
export { seededRandom } from './random.js';
export {
  applyTradingCommand,
  CONTROL_PREFIX,
  controlKey,
  decodeControl,
  ensureControl,
  initialControl,
  planOfControlKey,
  readControl,
  TRADING_COMMANDS,
  tradingControlSchema,
  tradingStateMachine,
  watchControls,
  writeControl,
} from './risk/trading-control.js';
export { applyPlan, changedSections, deletePlan, getStoredPlan, listPlans } from './plan/store.js';

export type { WireError, KokexErrorOptions } from './errors.js';
export type { Contract, Envelope, EnvelopeMeta } from './contracts/envelope.js';
export type { MarketClock } from './time/market-clock.js';
export type { ScheduleEntry, UpcomingFire } from './time/schedule-timers.js';
export type { BacktestBar, BacktestFigures, BacktestFill, EquityPoint, FiguresInput, RoundTrip } from './backtest/figures.js';
export type { BacktestData, DataBar, DataFile, DataGap, GapPolicy } from './backtest/data.js';
export type { BacktestOptions, BacktestProgress, BacktestRun } from './backtest/run.js';
export type { BacktestReport, ReliabilityBin, ReportFigures } from './backtest/report.js';
export type { Comparison } from './backtest/compare.js';
export type { MessageSpanAttributes, Tracing, TracingOptions } from './telemetry/tracing.js';
export type { Candle } from './contracts/market.js';
export type { QualityMessage, QualityReport, QuarantineOrigin, QuarantineRecord } from './contracts/quality.js';
export type {
  CandleCheckLevel,
  CandleCheckOptions,
  CandleFamily,
  CandleProblem,
  MarketSeries,
  OhlcvBar,
  PublishCandlesResult,
  SeriesKey,
  StoredCandleMessage,
} from './market/index.js';
export type { ClockTick, DeadLetter, PlanChanged } from './contracts/system.js';
export type {
  ApprovedCancel,
  ApprovedOrder,
  CancelRequest,
  CancelVerdict,
  DecisionBasis,
  OrderEvent,
  OrderIntent,
  OrderIntentInput,
  OrderVerdict,
} from './contracts/orders.js';
export type { Reconcile, ReconcileDifference, ReconcileInput } from './contracts/reconcile.js';
export type { BooksSnapshot, LedgerSnapshot } from './contracts/books-snapshot.js';
export type { ModelProgress, ModelReady } from './contracts/model.js';
export type { Forecast, SkillSummary } from './contracts/forecast.js';
export type { AgentToken, AgentTurn, AgentTurnInput, ConversationEndReason } from './contracts/agent.js';
export type { ChainStage, ScheduleFire, ScheduleStage, ScheduledDecision, StageState } from './contracts/schedule.js';
export type { ChatOutcome, ChatReply, ChatRequest, ChatRequestInput } from './contracts/chat.js';
export type {
  TrainAccepted,
  TrainCancelAccepted,
  TrainCancelReply,
  TrainCancelRequest,
  TrainerRefusal,
  TrainReply,
  TrainRequest,
} from './contracts/trainer.js';
export type { ForecastAnswer, ForecastReply, ForecastRequest } from './contracts/inferencer.js';
export type { SimControlReply, SimControlState, SimOrderState, SimStepRequest } from './contracts/sim-control.js';
export type { Timeframe } from './time/timeframe.js';
export type { Clock } from './time/clock.js';
export type { ResolvedNatsUrl } from './config.js';
export type { Bus, ConnectBusOptions, PublishResult, StoredMessage } from './bus/bus.js';
export type { NatsServerOptions } from './bus/nats-server.js';
export type { ParsedSubject, SubjectFamily, SubjectFilterKey, SubjectKey } from './bus/subjects.js';
export type { CatalogueEntry, CatalogueMessage } from './bus/catalogue.js';
export type { KvSpec, ObjectStoreSpec, StreamSpec, Topology } from './bus/topology.js';
export type { AdapterPorts, AdapterTarget } from './ports/registry.js';
export type { HistoryApplyResult, HistoryStore, HistoryWrite, HistoryWriteIssue } from './ports/store.js';
export type { ProvisionOptions, ProvisionResult } from './bus/provision.js';
export type { ConsumerStats, DurableConsumerOptions, DurableWorkerEvents, MessageHandler } from './bus/consumer.js';
export type { LogFormat, Logger, LoggerOptions } from './log/logger.js';
export type {
  ActorBusDeclaration,
  ActorContext,
  ActorKind,
  ActorLogic,
  BusDeclarationInput,
  ConsumerBinding,
  Declared,
} from './host/actor.js';
export type { LifecycleContext, LifecycleEvent, LifecycleOptions } from './host/lifecycle.js';
export type { ActorInstanceOptions, ActorStatus } from './host/instance.js';
export type { ActorHostOptions, ReloadResult } from './host/host.js';
export type {
  ActorMetrics,
  ConsumerLag,
  HostMetricsOptions,
  MetricCounter,
  MetricGauge,
  MetricHistogram,
  MetricLabels,
  MetricsSource,
} from './host/metrics.js';
export type { HealthReport, HealthServerOptions, HealthSource } from './host/health.js';
export type { ControlHandler } from './host/control.js';
export type {
  AdapterContext,
  AdapterDefinition,
  CommandDefinition,
  CommandIo,
  PluginDefinition,
  PluginManifest,
  PluginPackage,
} from './plugin/manifest.js';
export type { LoadedPlugin } from './plugin/loader.js';
export type { ModelRecord, RegisterDirectoryOptions } from './models/registry.js';
export type { ActorAccess, AuthorizationInput, ConsumerAccess, NatsPermissions, NatsUser } from './deploy/access.js';
export type {
  Balance,
  CandleQuery,
  CandleStreamEvents,
  ExecutionAdapter,
  InstrumentInfo,
  MarketDataAdapter,
  OrderStreamEvents,
  PlaceOrderRequest,
  PlaceOrderResult,
  Position,
  Subscription,
  Ticker,
  VenueOrder,
  VenueOrderState,
  VenueOrderUpdate,
} from './ports/exchange.js';
export type { ChatModel, LlmAdapterConfig, LlmUsage } from './ports/llm.js';
export type { ApplyResult, StoredPlan } from './plan/store.js';
export type { Plan, PlanInput, PlanSpec, PlanVenue, PlanData, PlanModel, PlanForecast, PlanAgent, PlanRisk } from './plan/schema.js';
export type { PlanIssue } from './plan/errors.js';
export type { Schedule, CronFields } from './plan/schedule.js';
export type { VenueMode } from './plan/venue.js';
export type { DataSource } from './plan/data.js';
export type { ModelPreset, TrainingDevice } from './plan/model.js';
export type { ExecutionProvider, SkillBaseline, SkillMetric, ProbabilityCalibration, BandCalibration } from './plan/forecast.js';
export type { AgentTool, AgentTrigger } from './plan/agent.js';
export type { TradingState } from './plan/risk.js';
export type { ControlRecord, TradingCommand, TradingStateEvent } from './risk/trading-control.js';
