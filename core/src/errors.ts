/**
 * One error base for the whole system. Every failure mode is its own class with a stable code,
 * a `retryable` flag and structured data, so it can cross NATS as `{code, message, data, retryable}`
 * and be rebuilt on the other side. Every code is listed in docs/errors.md (a test keeps them in step).
 */
export interface WireError {
  code: string;
  message: string;
  retryable: boolean;
  data?: Record<string, unknown>;
}

export interface KokexErrorOptions {
  retryable?: boolean;
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class KokexError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly data: Record<string, unknown>;

  constructor(code: string, message: string, options: KokexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.data = options.data ?? {};
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable, data: this.data };
  }
}

/**
 * True for any KOKEX error, also one created by another copy of core (a hot-reloaded plugin gets
 * its own module graph, so `instanceof` is not enough across that boundary).
 */
export function isKokexError(err: unknown): err is KokexError {
  return (
    err instanceof KokexError ||
    (err instanceof Error &&
      typeof (err as Partial<KokexError>).code === 'string' &&
      typeof (err as Partial<KokexError>).retryable === 'boolean')
  );
}

/** Rebuilds an error that arrived over the bus; unknown shapes become KOKEX_REMOTE. */
export function errorFromWire(wire: unknown): KokexError {
  if (wire && typeof wire === 'object' && typeof (wire as WireError).code === 'string') {
    const w = wire as WireError;
    return new KokexError(w.code, String(w.message ?? w.code), {
      retryable: Boolean(w.retryable),
      data: w.data ?? {},
    });
  }
  return new KokexError(ErrorCode.Remote, `remote error: ${JSON.stringify(wire)}`);
}

/** Any thrown value as a wire error, keeping the code of a KokexError. */
export function toWireError(err: unknown): WireError {
  if (isKokexError(err)) return { code: err.code, message: err.message, retryable: err.retryable, data: err.data ?? {} };
  if (err instanceof Error) return { code: ErrorCode.Internal, message: err.message, retryable: true };
  return { code: ErrorCode.Internal, message: String(err), retryable: true };
}

export const ErrorCode = {
  Internal: 'KOKEX_INTERNAL',
  Remote: 'KOKEX_REMOTE',
  InvalidToken: 'KOKEX_INVALID_SUBJECT_TOKEN',
  InvalidSubject: 'KOKEX_INVALID_SUBJECT',
  UnknownTimeframe: 'KOKEX_UNKNOWN_TIMEFRAME',
  InvalidMessage: 'KOKEX_INVALID_MESSAGE',
  SchemaVersion: 'KOKEX_SCHEMA_VERSION',
  NatsUnreachable: 'KOKEX_NATS_UNREACHABLE',
  NatsServerMissing: 'KOKEX_NATS_SERVER_MISSING',
  NatsServerStart: 'KOKEX_NATS_SERVER_START',
  Provision: 'KOKEX_PROVISION',
  PlanInvalid: 'KOKEX_PLAN_INVALID',
  PlanNotFound: 'KOKEX_PLAN_NOT_FOUND',
  /** `kokex up`: the simulator's port is taken (another `kokex up` or `kokex sim`), or plans ask for different ports. */
  SimPort: 'KOKEX_SIM_PORT',
  /** `kokex backtest`: a data directory with no file for the instrument, a bad row, a duplicate or a gap. */
  BacktestData: 'KOKEX_BACKTEST_DATA',
  /** `kokex backtest`: the pipeline did not settle on a bar, or the simulator's lockstep control failed. */
  BacktestRun: 'KOKEX_BACKTEST_RUN',
  PluginManifest: 'KOKEX_PLUGIN_MANIFEST',
  PluginLoad: 'KOKEX_PLUGIN_LOAD',
  PluginNotLoaded: 'KOKEX_PLUGIN_NOT_LOADED',
  PluginConflict: 'KOKEX_PLUGIN_CONFLICT',
  ActorKindUnknown: 'KOKEX_ACTOR_KIND_UNKNOWN',
  ActorConfig: 'KOKEX_ACTOR_CONFIG',
  AdapterUnknown: 'KOKEX_ADAPTER_UNKNOWN',
  AdapterConfig: 'KOKEX_ADAPTER_CONFIG',
  ModelNotFound: 'KOKEX_MODEL_NOT_FOUND',
  LifecycleTransition: 'KOKEX_LIFECYCLE_TRANSITION',
  DeliveryExhausted: 'KOKEX_DELIVERY_EXHAUSTED',
  CliUsage: 'KOKEX_CLI_USAGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
