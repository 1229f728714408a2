import { KokexError, type KokexErrorOptions } from '@kokex/core';

/** Stable codes of the inferencer; every one is listed in docs/errors.md. */
export const InferencerErrorCode = {
  /** A forecast request names an instrument and timeframe no active plan forecasts. */
  UnknownSeries: 'INFERENCER_UNKNOWN_SERIES',
  /** Too few closed candles in memory (and in MD_CANDLES) to forecast yet. */
  WarmingUp: 'INFERENCER_WARMING_UP',
  /** A request to the forecast endpoint that is not `{inst, tf}`. */
  BadRequest: 'INFERENCER_BAD_REQUEST',
  /** The skill record in KV could not be read or written (after retries on concurrent writers). */
  SkillStore: 'INFERENCER_SKILL_STORE',
  /** `kokex forecast` found no forecast on the plan's subject. */
  NoForecast: 'INFERENCER_NO_FORECAST',
  /** The inference thread ended without being stopped (a crash): the forecasts it held failed, and the actor restarts. */
  Worker: 'INFERENCER_WORKER',
} as const;
export type InferencerErrorCode = (typeof InferencerErrorCode)[keyof typeof InferencerErrorCode];

export class InferencerError extends KokexError {}

export class UnknownSeriesError extends InferencerError {
  constructor(inst: string, tf: string, known: readonly string[]) {
    super(
      InferencerErrorCode.UnknownSeries,
      `no active plan forecasts ${inst} ${tf}; forecast series: ${known.join(', ') || 'none (apply a plan)'}`,
      { data: { inst, tf } },
    );
  }
}

export class WarmingUpError extends InferencerError {
  constructor(inst: string, tf: string, have: number, need: number) {
    super(InferencerErrorCode.WarmingUp, `${inst} ${tf}: ${have} closed candle(s) in history, ${need} needed before the first forecast`, {
      retryable: true,
      data: { inst, tf, have, need },
    });
  }
}

export class BadForecastRequestError extends InferencerError {
  constructor(problem: string) {
    super(InferencerErrorCode.BadRequest, `forecast request: ${problem}; send {"inst": "BTC-USDT-SWAP", "tf": "1m"}`);
  }
}

export class SkillStoreError extends InferencerError {
  constructor(key: string, cause: unknown, options: KokexErrorOptions = {}) {
    super(InferencerErrorCode.SkillStore, `skill record ${key}: ${(cause as Error)?.message ?? cause}`, {
      retryable: true,
      cause,
      ...options,
      data: { key },
    });
  }
}

export class NoForecastError extends InferencerError {
  constructor(subject: string) {
    super(
      InferencerErrorCode.NoForecast,
      `no forecast on ${subject} yet; is the inferencer running (npx kokex up) and has a candle closed?`,
      {
        data: { subject },
      },
    );
  }
}

export class InferenceWorkerError extends InferencerError {
  constructor(problem: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(InferencerErrorCode.Worker, problem, { retryable: true, data, ...(cause === undefined ? {} : { cause }) });
  }
}
