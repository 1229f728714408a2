import { KokexError } from '@kokex/core';

/**
 * Error codes of the risk guard and its commands. A denied intent is not an error: it is a verdict
 * with a reason code (reasons.ts). These are failures to decide at all.
 */
export const RiskErrorCode = {
  /** Publishing a verdict or an approval failed (NATS down); the intent is redelivered. */
  Publish: 'RISK_PUBLISH',
  /** Reading the ORDERS stream back failed; the intent is redelivered. */
  StreamRead: 'RISK_STREAM_READ',
  /** A `kokex order`, `orders` or `risk` command named a plan that is not applied. */
  PlanUnknown: 'RISK_PLAN_UNKNOWN',
  /** `kokex order place` saw no verdict in time: no guard is running, or it is behind. */
  NoVerdict: 'RISK_NO_VERDICT',
  /**
   * Not an exception: the code a dead letter carries for an ORDERS message the guard's books
   * refused (not published by the guard or the executor, an event of an order it never approved,
   * or a payload that does not decode).
   */
  Unbooked: 'RISK_UNBOOKED',
} as const;
export type RiskErrorCode = (typeof RiskErrorCode)[keyof typeof RiskErrorCode];

export class RiskPublishError extends KokexError {
  constructor(what: string, cause: unknown) {
    super(RiskErrorCode.Publish, `publishing the ${what} failed: ${(cause as Error)?.message ?? cause}`, { retryable: true, cause });
  }
}

export class RiskStreamReadError extends KokexError {
  constructor(cause: unknown) {
    super(RiskErrorCode.StreamRead, `reading ORDERS back failed: ${(cause as Error)?.message ?? cause}`, { retryable: true, cause });
  }
}

export class RiskPlanUnknownError extends KokexError {
  constructor(plan: string, known: string[]) {
    super(RiskErrorCode.PlanUnknown, `no applied plan named ${plan} (applied: ${known.join(', ') || 'none'})`, { data: { plan, known } });
  }
}

export class RiskNoVerdictError extends KokexError {
  constructor(clientOrderId: string, waitedMs: number) {
    super(
      RiskErrorCode.NoVerdict,
      `no verdict for ${clientOrderId} after ${Math.round(waitedMs / 1000)}s; is a risk guard running (npx kokex up, or kokex host --actors risk-guard)?`,
      { retryable: true, data: { clientOrderId } },
    );
  }
}
