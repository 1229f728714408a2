import type { LlmUsage } from '@kokex/core';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { UsageMetadata } from '@langchain/core/messages';
import type { ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import { errorForStatus } from './body.js';
import { type CallRecord, currentCall, withCallRecord } from './call-context.js';
import { LlmAbortedError, LlmError, type LlmErrorData, LlmMalformedResponseError, LlmProviderError, scrubSecrets } from './errors.js';
import { costUsd, LLM_USAGE_EVENT, type PriceTable, type UsageMeter } from './usage.js';

/**
 * Wraps a provider model's two call paths (`_generate` and `_streamResponseChunks`) so that every
 * failure leaves as a typed `LlmError` and every call's tokens are priced and reported. Each
 * provider's chat model class delegates to these; the SDK underneath stays the official one.
 */
export interface ModelIdentity {
  provider: string;
  model: string;
  prices: PriceTable;
  meter: UsageMeter;
  /** Values to scrub from error text (the API key). */
  secrets: () => readonly string[];
}

interface TokenCount {
  input: number;
  output: number;
  seen: boolean;
}

/**
 * Usage seen in a stream is a running snapshot, not an increment: Anthropic reports input tokens
 * (and a first output token) at message start and the cumulative output at message delta; some
 * OpenAI-compatible servers repeat cumulative usage on every chunk. The largest of each wins.
 */
function addUsage(count: TokenCount, usage: UsageMetadata | undefined): void {
  if (!usage) return;
  count.input = Math.max(count.input, usage.input_tokens ?? 0);
  count.output = Math.max(count.output, usage.output_tokens ?? 0);
  count.seen = true;
}

async function report(id: ModelIdentity, count: TokenCount, runManager: CallbackManagerForLLMRun | undefined): Promise<void> {
  if (!count.seen) return;
  const usage: LlmUsage = {
    provider: id.provider,
    model: id.model,
    inputTokens: count.input,
    outputTokens: count.output,
    costUsd: costUsd(id.prices, id.model, count.input, count.output),
  };
  id.meter.record(usage);
  await runManager?.handleCustomEvent(LLM_USAGE_EVENT, usage);
}

/** Guards a `_generate` call. A call nested in another guarded call passes through (the outer one accounts). */
export async function guardGenerate(
  id: ModelIdentity,
  signal: AbortSignal | undefined,
  runManager: CallbackManagerForLLMRun | undefined,
  run: () => Promise<ChatResult>,
): Promise<ChatResult> {
  if (currentCall()) return run();
  const record: CallRecord = { attempts: 0 };
  let result: ChatResult;
  try {
    result = await withCallRecord(record, run);
  } catch (err) {
    throw toLlmError(err, record, id, signal);
  }
  const count: TokenCount = { input: 0, output: 0, seen: false };
  // Several generations (n > 1) share one request and one usage record.
  for (const g of result.generations) addUsage(count, (g.message as { usage_metadata?: UsageMetadata }).usage_metadata);
  await report(id, count, runManager);
  return result;
}

/** Guards a `_streamResponseChunks` call; tokens seen before a failure are still reported. */
export async function* guardStream(
  id: ModelIdentity,
  signal: AbortSignal | undefined,
  runManager: CallbackManagerForLLMRun | undefined,
  start: () => AsyncGenerator<ChatGenerationChunk>,
): AsyncGenerator<ChatGenerationChunk> {
  if (currentCall()) {
    yield* start();
    return;
  }
  const record: CallRecord = { attempts: 0 };
  const count: TokenCount = { input: 0, output: 0, seen: false };
  // Each step runs inside the record: the SDK's fetch happens during the first `next()`, not here.
  const chunks = withCallRecord(record, start);
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<ChatGenerationChunk>;
      try {
        step = await withCallRecord(record, () => chunks.next());
      } catch (err) {
        finished = true;
        throw toLlmError(err, record, id, signal);
      }
      if (step.done) break;
      addUsage(count, (step.value.message as { usage_metadata?: UsageMetadata }).usage_metadata);
      yield step.value;
    }
    finished = true;
  } finally {
    // A consumer that stops early (`break`) must still close the SDK stream and its connection.
    if (!finished) await withCallRecord(record, () => chunks.return(undefined)).catch(() => undefined);
    await report(id, count, runManager);
  }
}

/**
 * Any failure of a provider call as a typed error: the typed error already in the cause chain or
 * recorded by the provider fetch, else one made from what the SDK reported. The SDK's own error is
 * not kept as `cause`, since its text may carry what a server echoed back.
 */
export function toLlmError(err: unknown, record: CallRecord | undefined, id: ModelIdentity, signal?: AbortSignal): LlmError {
  const data: LlmErrorData = { provider: id.provider, model: id.model, attempts: record?.attempts };
  if (signal?.aborted) return new LlmAbortedError(data);
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof LlmError) return e;
  }
  if (record?.failure) return record.failure;
  const secrets = id.secrets();
  const message = scrubSecrets(err instanceof Error ? err.message : String(err), secrets);
  const name = err instanceof Error ? err.name : typeof err;
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400) return errorForStatus(status, message, data);
  if (name === 'AbortError' || name === 'APIUserAbortError') return new LlmAbortedError(data);
  if (err instanceof SyntaxError) {
    return new LlmMalformedResponseError(`${id.provider} ${id.model}: the response is not the provider's protocol: ${message}`, data);
  }
  return new LlmProviderError(`${id.provider} ${id.model}: ${name}: ${message}`, { ...data, errorName: name });
}
