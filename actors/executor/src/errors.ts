import { isKokexError, KokexError } from '@kokex/core';

/**
 * Error codes of the executor. A venue's refusal is not one of these: it becomes a `rejected`
 * order event with the venue's code in `reason`. These say why an approval could not be worked.
 */
export const ExecErrorCode = {
  /** The venue's adapter is not connected (not resolved yet, unreachable, reconciling): the approval is retried. */
  VenueUnavailable: 'EXEC_VENUE_UNAVAILABLE',
  /** A placement or lookup failed in a way a retry may fix (rate limit, timeout, outcome unknown). */
  PlaceRetryable: 'EXEC_PLACE_RETRYABLE',
  /** Publishing an order event or writing an order record failed: the approval is retried. */
  Publish: 'EXEC_PUBLISH',
  /** No plugin in this host offers `execution:{name}` for a plan's venue: the session keeps trying (a plugin may be loaded later). */
  NoExecutionAdapter: 'EXEC_NO_EXECUTION_ADAPTER',
  /**
   * An approval with no risk verdict approving the same plan, instrument, side, size and price under
   * its client order id: never placed. A missing verdict is retried (it may still be on its way),
   * then answered with a `rejected` event (`APPROVAL_UNVERIFIED`); a verdict with other terms
   * dead-letters the approval at once.
   */
  ApprovalUnverified: 'EXEC_APPROVAL_UNVERIFIED',
} as const;
export type ExecErrorCode = (typeof ExecErrorCode)[keyof typeof ExecErrorCode];

export class ExecVenueUnavailableError extends KokexError {
  constructor(venue: string, detail: string) {
    super(ExecErrorCode.VenueUnavailable, `venue ${venue} is not connected: ${detail}`, { retryable: true, data: { venue } });
  }
}

export class ExecNoExecutionAdapterError extends KokexError {
  constructor(venue: string, name: string, loaded: string[]) {
    super(
      ExecErrorCode.NoExecutionAdapter,
      `venue ${venue}: no execution:${name} adapter is loaded in this host (execution adapters: ${loaded.join(', ') || 'none'}); ` +
        `add the plugin that provides it (@kokex/plugin-${name}) to this host`,
      { retryable: true, data: { venue, adapter: name } },
    );
  }
}

export class ExecPlaceRetryableError extends KokexError {
  constructor(clientOrderId: string, cause: unknown) {
    const code = isKokexError(cause) ? cause.code : 'error';
    super(ExecErrorCode.PlaceRetryable, `placing ${clientOrderId} failed (${code}: ${(cause as Error)?.message ?? cause}); retrying`, {
      retryable: true,
      cause,
      data: { clientOrderId, cause: code },
    });
  }
}

export class ExecPublishError extends KokexError {
  constructor(what: string, cause: unknown) {
    super(ExecErrorCode.Publish, `${what} failed: ${(cause as Error)?.message ?? cause}`, { retryable: true, cause });
  }
}

export class ExecApprovalUnverifiedError extends KokexError {
  constructor(clientOrderId: string, reason: string, retryable: boolean) {
    super(ExecErrorCode.ApprovalUnverified, `approval ${clientOrderId} not placed: ${reason}`, {
      retryable,
      data: { clientOrderId, reason },
    });
  }
}

/** Whether repeating the call may help: a retryable KOKEX error, or anything that is not a KOKEX error at all (a socket, a bug). */
export function isRetryable(err: unknown): boolean {
  return isKokexError(err) ? err.retryable : true;
}
