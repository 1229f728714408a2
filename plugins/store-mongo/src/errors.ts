import { KokexError } from '@kokex/core';

/** Stable error codes of the MongoDB store. */
export const MongoStoreErrorCode = {
  /** The URL is set but no MongoDB answered within `connectTimeoutMs` (or it refused the indexes); the actor restarts with backoff. */
  Unreachable: 'STORE_MONGO_UNREACHABLE',
  /** The URL is not a mongodb:// or mongodb+srv:// URL. */
  Url: 'STORE_MONGO_URL',
  /** A write to MongoDB failed; the message is redelivered. */
  Write: 'STORE_MONGO_WRITE',
} as const;
export type MongoStoreErrorCode = (typeof MongoStoreErrorCode)[keyof typeof MongoStoreErrorCode];

/** The URL with its password masked, for messages and status. */
export function redactMongoUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

const firstLine = (cause: unknown) => (cause instanceof Error ? cause.message.split('\n')[0] : String(cause));

export class MongoStoreUnreachableError extends KokexError {
  constructor(url: string, cause: unknown) {
    super(MongoStoreErrorCode.Unreachable, `store mongo: MongoDB at ${redactMongoUrl(url)} did not answer (${firstLine(cause)})`, {
      retryable: true,
      data: { url: redactMongoUrl(url) },
      cause,
    });
  }
}

export class MongoStoreUrlError extends KokexError {
  constructor() {
    super(MongoStoreErrorCode.Url, 'store mongo: the URL must be a mongodb:// or mongodb+srv:// URL');
  }
}

export class MongoStoreWriteError extends KokexError {
  constructor(collection: string, cause: unknown) {
    super(MongoStoreErrorCode.Write, `store mongo: writing ${collection} failed (${firstLine(cause)})`, {
      retryable: true,
      data: { collection },
      cause,
    });
  }
}
