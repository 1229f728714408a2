import { KokexError, type KokexErrorOptions } from '@kokex/core';

/**
 * Stable codes of the Kronos runtime. Callers decide on `code` and `retryable`, never on message
 * text; every code is listed in docs/errors.md.
 */
export const KronosErrorCode = {
  /** card.json is missing, unreadable, or describes a model this runtime cannot run. */
  Card: 'KRONOS_CARD_INVALID',
  /** An ONNX graph named by the card is missing or ONNX Runtime refused it. */
  Graph: 'KRONOS_GRAPH_LOAD',
  /** None of the configured execution providers could create a session. */
  ExecutionProvider: 'KRONOS_EXECUTION_PROVIDER',
  /** A forecast request that cannot be run: too few candles, NaN, horizon beyond the context, bad sampling settings. */
  Input: 'KRONOS_INPUT_INVALID',
  /** ONNX Runtime failed while running a graph (out of memory, a provider fault). */
  Run: 'KRONOS_RUN_FAILED',
  /** The model was disposed while a request still wanted it. */
  Disposed: 'KRONOS_DISPOSED',
} as const;
export type KronosErrorCode = (typeof KronosErrorCode)[keyof typeof KronosErrorCode];

/** Base of every runtime error; a KokexError so it crosses the bus unchanged. */
export class KronosError extends KokexError {}

export class KronosCardError extends KronosError {
  constructor(where: string, problem: string, options: KokexErrorOptions = {}) {
    super(KronosErrorCode.Card, `Kronos card ${where}: ${problem}`, { ...options, data: { where, ...options.data } });
  }
}

export class KronosGraphError extends KronosError {
  constructor(graph: string, problem: string, cause?: unknown) {
    super(KronosErrorCode.Graph, `Kronos graph ${graph}: ${problem}`, { cause, data: { graph } });
  }
}

export interface ProviderAttempt {
  provider: string;
  reason: string;
}

export class ExecutionProviderError extends KronosError {
  constructor(attempts: readonly ProviderAttempt[]) {
    const tried = attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ');
    super(
      KronosErrorCode.ExecutionProvider,
      `no configured execution provider could run the model (${tried}); add cpu to forecast.executionProviders to fall back to the CPU`,
      { data: { attempts } },
    );
  }
}

export class KronosInputError extends KronosError {
  constructor(problem: string, data: Record<string, unknown> = {}) {
    super(KronosErrorCode.Input, `Kronos forecast request: ${problem}`, { data });
  }
}

export class KronosRunError extends KronosError {
  constructor(graph: string, cause: unknown) {
    super(KronosErrorCode.Run, `ONNX Runtime failed running ${graph}: ${(cause as Error)?.message ?? cause}`, {
      cause,
      retryable: true,
      data: { graph },
    });
  }
}

export class KronosDisposedError extends KronosError {
  constructor(version: string) {
    super(KronosErrorCode.Disposed, `Kronos model ${version.slice(0, 12)} was disposed; load it again`, { data: { version } });
  }
}
