import { AsyncLocalStorage } from 'node:async_hooks';
import type { LlmError } from './errors.js';

/**
 * What one model call learned below the SDK: attempts made and the typed failure, if any. The SDKs
 * rewrap what `fetch` throws (OpenAI's turns any error whose text says "timeout" into a bare
 * APIConnectionTimeoutError without a cause), so the provider fetch writes its typed error here and
 * the call guard reads it back, whatever the SDK and LangChain made of it on the way up.
 */
export interface CallRecord {
  attempts: number;
  /** HTTP status of the last response. */
  status?: number;
  failure?: LlmError;
}

const storage = new AsyncLocalStorage<CallRecord>();

/** Runs `fn` with a fresh record that `currentCall()` returns anywhere below it. */
export function withCallRecord<T>(record: CallRecord, fn: () => T): T {
  return storage.run(record, fn);
}

/** The record of the model call this code runs in, if any (a bare SDK use has none). */
export function currentCall(): CallRecord | undefined {
  return storage.getStore();
}
