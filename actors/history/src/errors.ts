import { KokexError } from '@kokex/core';

/** Stable error codes of the history projector. */
export const HistoryErrorCode = {
  /** MONGO_URL is set but no MongoDB answered within `connectTimeoutMs`; the actor restarts with backoff. */
  MongoUnreachable: 'HISTORY_MONGO_UNREACHABLE',
  /** MONGO_URL is not a mongodb:// or mongodb+srv:// URL. */
  MongoUrl: 'HISTORY_MONGO_URL',
  /** A write to MongoDB failed; the message is redelivered. */
  Write: 'HISTORY_WRITE',
} as const;
export type HistoryErrorCode = (typeof HistoryErrorCode)[keyof typeof HistoryErrorCode];

/** The URL with its password masked, for messages and status. */
export function redactMongoUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

export class HistoryMongoUnreachableError extends KokexError {
  constructor(url: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(HistoryErrorCode.MongoUnreachable, `history: MongoDB at ${redactMongoUrl(url)} did not answer (${reason})`, {
      retryable: true,
      data: { url: redactMongoUrl(url) },
      cause,
    });
  }
}

export class HistoryMongoUrlError extends KokexError {
  constructor(env: string) {
    super(HistoryErrorCode.MongoUrl, `history: ${env} must be a mongodb:// or mongodb+srv:// URL`, { data: { env } });
  }
}

export class HistoryWriteError extends KokexError {
  constructor(collection: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(HistoryErrorCode.Write, `history: writing ${collection} failed (${reason})`, { retryable: true, data: { collection }, cause });
  }
}
