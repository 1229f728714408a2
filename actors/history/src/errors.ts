import { KokexError } from '@kokex/core';

/** Stable error codes of the history projector (the store's own are its plugin's, e.g. `STORE_MONGO_…`). */
export const HistoryErrorCode = {
  /** A message arrived while the actor had no open store (a stop racing a last delivery); it is redelivered. */
  Write: 'HISTORY_WRITE',
} as const;
export type HistoryErrorCode = (typeof HistoryErrorCode)[keyof typeof HistoryErrorCode];

export class HistoryWriteError extends KokexError {
  constructor(collection: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(HistoryErrorCode.Write, `history: writing ${collection} failed (${reason})`, { retryable: true, data: { collection }, cause });
  }
}
