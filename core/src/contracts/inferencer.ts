import type { WireError } from '../errors.js';
import type { Forecast } from './forecast.js';

/**
 * The inferencer's request/reply (core NATS, `actorRequest` family): `kokex.ctl.inferencer.forecast`
 * `{inst, tf, correlationId?}` answers with a fresh forecast of that series, also published on
 * `kokex.forecast.{inst}.{tf}`. Asked by `kokex forecast` and the scheduler's infer stage.
 */
export const InferencerEndpoints = { forecast: 'forecast' } as const;
export type InferencerEndpoints = (typeof InferencerEndpoints)[keyof typeof InferencerEndpoints];

export interface ForecastRequest {
  inst: string;
  tf: string;
  /** Carried into the published forecast's envelope (a scheduled run's id). */
  correlationId?: string;
}

export interface ForecastAnswer {
  ok: true;
  forecast: Forecast;
  /** The published forecast's message id. */
  id: string;
  seq: number;
  batchSize: number;
}

export type ForecastReply = ForecastAnswer | { ok: false; error: WireError };
