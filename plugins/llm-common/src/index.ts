// Public face of @kokex/llm-common. Explicit exports only: values first, then types.
export { errorDetail, errorForStatus, watchBody } from './body.js';
export { currentCall, withCallRecord } from './call-context.js';
export { llmConfigFields, sdkTimeoutMs } from './config.js';
export {
  LlmAbortedError,
  LlmAuthError,
  LlmError,
  LlmErrorCode,
  LlmKeyMissingError,
  LlmMalformedResponseError,
  LlmProviderError,
  LlmRateLimitedError,
  LlmRequestRejectedError,
  LlmSecretsFileError,
  LlmServerError,
  LlmStreamBrokenError,
  LlmTimeoutError,
  LlmTransportError,
  scrubSecrets,
} from './errors.js';
export { guardGenerate, guardStream, toLlmError } from './guard.js';
export { backoffDelay, createProviderFetch, isRetryableStatus, retryAfterMs } from './http.js';
export { keyFromSecretsText, readApiKey, requireApiKey, SECRETS_FILE_ENV } from './keys.js';
export { providerRuntime } from './runtime.js';
export { SseParser } from './sse.js';
export { costUsd, isLlmUsage, LLM_USAGE_EVENT, modelPriceSchema, priceFor, UsageMeter, usageCallback } from './usage.js';

export type { BodyWatchOptions, StreamFault, StreamProtocol } from './body.js';
export type { CallRecord } from './call-context.js';
export type { LlmCommonConfig } from './config.js';
export type { LlmErrorData } from './errors.js';
export type { ModelIdentity } from './guard.js';
export type { ProviderFetchOptions, RetryInfo } from './http.js';
export type { ApiKeySource } from './keys.js';
export type { ProviderRuntime, ProviderRuntimeOptions } from './runtime.js';
export type { SseEvent } from './sse.js';
export type { ModelPrice, PriceTable, UsageTotals } from './usage.js';
