// Public face of @kokex/kronos-runtime. Explicit exports only: values first, then types.
export { GRAPH_CONTRACT, GRAPH_NAMES, cardSchema, readCard } from './card.js';
export {
  ExecutionProviderError,
  KronosCardError,
  KronosDisposedError,
  KronosError,
  KronosErrorCode,
  KronosGraphError,
  KronosInputError,
  KronosRunError,
} from './errors.js';
export { decodePath, generate } from './generate.js';
export { KronosModel } from './model.js';
export { FEATURE_COUNT, Feature, STAMP_COUNT, candleFeatures, denormalize, normalizeWindow, timeStamps } from './preprocess.js';
export { createRng } from './rng.js';
export { GREEDY, TokenSampler, argmaxRow, checkSampling } from './sampling.js';
export { closeSessions, openSessions, SESSION_DEFAULTS, sessionOptions } from './sessions.js';

export type { GraphName, KronosCard, KronosSpec } from './card.js';
export type { ProviderAttempt } from './errors.js';
export type {
  CacheMode,
  DecodePath,
  GenerationGroup,
  GenerationResult,
  GenerationSettings,
  GenerationTimings,
  GroupTokens,
  PathRecord,
  PrefillMode,
} from './generate.js';
export type { ForecastPaths, ForecastRequest, ForecastRunOptions, KronosModelOptions, ModelSource } from './model.js';
export type { CandleRow, NormalizedWindow } from './preprocess.js';
export type { Rng } from './rng.js';
export type { SamplingParams } from './sampling.js';
export type { KronosSessions, OpenedSessions, RuntimeLogger, SessionOptions } from './sessions.js';
