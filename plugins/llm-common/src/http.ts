import { type StreamProtocol, errorDetail, errorForStatus, watchBody } from './body.js';
import { currentCall } from './call-context.js';
import { type LlmError, type LlmErrorData, LlmRateLimitedError, LlmTimeoutError, LlmTransportError, scrubSecrets } from './errors.js';

/**
 * The one HTTP path of every provider plugin: the SDK (openai, @anthropic-ai/sdk) gets this as its
 * `fetch`, with its own retries off, so retries, backoff, timeouts and stream checks behave the
 * same for every provider and are tested once.
 */
export interface ProviderFetchOptions {
  provider: string;
  model: string;
  protocol: StreamProtocol;
  /** Retries after the first attempt, on 408, 429, 5xx, timeouts and connection failures. */
  maxRetries: number;
  /** Longest wait for response headers, per attempt. */
  timeoutMs: number;
  /** Longest gap between two pieces of a body or stream. */
  idleTimeoutMs: number;
  /** First backoff delay; doubles per retry, with jitter. */
  retryBaseMs: number;
  /** Cap on one backoff delay; a `Retry-After` longer than this fails at once instead of waiting. */
  retryMaxMs: number;
  /** Values to scrub from any text that reaches an error message (the API key). */
  secrets: () => readonly string[];
  /** Default: Math.random (tests pass a fixed one). */
  random?: () => number;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Called before each retry (for logs and tests). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  status?: number;
  error?: LlmError;
}

/** Statuses worth another attempt: timeouts, rate limits, conflicts in flight, server faults. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** `retry-after-ms`, else `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Exponential backoff with equal jitter: half the step fixed, half random, capped at `maxMs`. */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Builds the `fetch` a provider SDK is given. */
export function createProviderFetch(o: ProviderFetchOptions): typeof fetch {
  const baseFetch = o.fetch ?? globalThis.fetch;
  const random = o.random ?? Math.random;

  const providerFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const record = currentCall();
    // The SDK's signal: it fires when the caller aborts (and on the SDK's own, longer, timeout).
    const callerSignal = init.signal ?? undefined;
    const attempts = o.maxRetries + 1;
    for (let attempt = 1; ; attempt++) {
      if (record) record.attempts = attempt;
      const data: LlmErrorData = { provider: o.provider, model: o.model, attempts: attempt };
      const headersTimeout = new AbortController();
      const timer = setTimeout(() => headersTimeout.abort(), o.timeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, headersTimeout.signal]) : headersTimeout.signal;
      let failure: LlmError;
      let delayMs: number | undefined;
      try {
        const res = await baseFetch(input, { ...init, signal });
        clearTimeout(timer);
        if (record) record.status = res.status;
        if (res.ok) return watchBody(res, { protocol: o.protocol, idleTimeoutMs: o.idleTimeoutMs, data, secrets: o.secrets(), record });
        const hint = retryAfterMs(res.headers);
        const detail = errorDetail(await readBounded(res, o.idleTimeoutMs), o.secrets());
        failure = errorForStatus(res.status, detail, data);
        if (!isRetryableStatus(res.status)) throw remember(failure);
        if (hint !== undefined && hint > o.retryMaxMs) {
          throw remember(
            new LlmRateLimitedError(`${failure.message} (the provider asks to wait ${Math.ceil(hint / 1000)} s)`, {
              ...failure.data,
              retryAfterMs: hint,
            }),
          );
        }
        delayMs = hint;
      } catch (err) {
        clearTimeout(timer);
        if (callerSignal?.aborted) throw err;
        if (isLlmError(err)) throw err;
        failure = headersTimeout.signal.aborted
          ? new LlmTimeoutError(`${o.provider} ${o.model}: no response within ${o.timeoutMs} ms (attempt ${attempt} of ${attempts})`, data)
          : new LlmTransportError(
              `${o.provider} ${o.model}: connection failed (${scrubSecrets(describeCause(err), o.secrets())}) (attempt ${attempt} of ${attempts})`,
              data,
              err,
            );
      }
      if (attempt >= attempts) throw remember(failure);
      const wait = delayMs ?? backoffDelay(attempt, o.retryBaseMs, o.retryMaxMs, random);
      o.onRetry?.({ attempt, delayMs: wait, status: failure.data.status, error: failure });
      await sleep(wait, callerSignal);
    }

    function remember(err: LlmError): LlmError {
      if (record) record.failure = err;
      return err;
    }
  };
  return providerFetch as typeof fetch;
}

function isLlmError(err: unknown): err is LlmError {
  return err instanceof Error && typeof (err as LlmError).code === 'string' && (err as LlmError).code.startsWith('LLM_');
}

/** undici says "fetch failed" and puts the reason (ECONNREFUSED, ECONNRESET) in `cause`. */
function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** An error body, read with the idle bound so a stalled error page cannot hang the retry loop. */
async function readBounded(res: Response, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      void res.body?.cancel().catch(() => undefined);
      resolve('');
    }, ms);
  });
  try {
    return await Promise.race([res.text().catch(() => ''), late]);
  } finally {
    clearTimeout(timer);
  }
}
