import type { CallRecord } from './call-context.js';
import {
  LlmAuthError,
  type LlmError,
  type LlmErrorData,
  LlmMalformedResponseError,
  LlmRateLimitedError,
  LlmRequestRejectedError,
  LlmServerError,
  LlmStreamBrokenError,
  LlmTimeoutError,
  scrubSecrets,
} from './errors.js';
import { type SseEvent, SseParser } from './sse.js';

/** An error reported inside a stream, described as the HTTP status it stands for. */
export interface StreamFault {
  status: number;
  message: string;
}

/**
 * What the provider fetch needs to know about a provider's wire protocol to watch its streams.
 * Each provider plugin supplies one (OpenAI's `[DONE]`, Anthropic's `message_stop`).
 */
export interface StreamProtocol {
  /** SSE data payloads that are legal but not JSON (OpenAI's `[DONE]`). */
  plainData?: readonly string[];
  /** `end` for the provider's end marker, a fault for an error event, otherwise `data`. */
  classify(event: SseEvent, json: unknown): 'data' | 'end' | StreamFault;
}

export interface BodyWatchOptions {
  protocol: StreamProtocol;
  idleTimeoutMs: number;
  data: LlmErrorData;
  secrets: readonly string[];
  record: CallRecord | undefined;
}

const STATUS_TEXT: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 429: 'rate limited', 529: 'overloaded' };

/** The typed error for an HTTP status (or an in-stream fault standing for one). */
export function errorForStatus(status: number, detail: string, data: LlmErrorData): LlmError {
  const what = STATUS_TEXT[status] ?? (status >= 500 ? 'server error' : 'rejected');
  const message = `${data.provider}${data.model ? ` ${data.model}` : ''}: HTTP ${status} ${what}${
    data.attempts && data.attempts > 1 ? ` after ${data.attempts} attempts` : ''
  }${detail ? `: ${detail}` : ''}`;
  const withStatus = { ...data, status };
  if (status === 401 || status === 403) return new LlmAuthError(message, withStatus);
  if (status === 429) return new LlmRateLimitedError(message, withStatus);
  if (status === 408) return new LlmTimeoutError(message, withStatus);
  if (status >= 500) return new LlmServerError(message, withStatus);
  return new LlmRequestRejectedError(message, withStatus);
}

/** A readable message from a provider's error body: `error.message`, `message`, or the text itself; scrubbed and bounded. */
export function errorDetail(body: string, secrets: readonly string[]): string {
  let text = body.trim();
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const fromError = typeof json.error === 'string' ? json.error : json.error?.message;
    const picked = typeof fromError === 'string' ? fromError : typeof json.message === 'string' ? json.message : undefined;
    if (picked) text = picked;
  } catch {
    // Not JSON (a proxy's HTML page): keep the text.
  }
  const flat = scrubSecrets(text, secrets).replace(/\s+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/**
 * Wraps a successful response's body: an event stream is parsed as it passes (malformed events,
 * error events and a missing end marker become typed errors); a JSON body is checked once whole;
 * any body, no bytes for `idleTimeoutMs` is a timeout and a connection that breaks is
 * `LLM_STREAM_BROKEN`. The SDK reads the wrapped body as it would the original.
 */
export function watchBody(res: Response, o: BodyWatchOptions): Response {
  if (!res.body) return res;
  const contentType = res.headers.get('content-type') ?? '';
  const sse = contentType.includes('text/event-stream');
  // Only a JSON body is held back and checked whole; anything else passes as it comes.
  const jsonBody = !sse && contentType.includes('json');
  const reader = res.body.getReader();
  const parser = new SseParser();
  const held: Uint8Array[] = [];
  let ended = false;

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, err: LlmError) => {
    if (o.record) o.record.failure = err;
    controller.error(err);
    void reader.cancel(err).catch(() => undefined);
  };

  const inspect = (events: SseEvent[]): LlmError | undefined => {
    for (const event of events) {
      let json: unknown;
      if (!o.protocol.plainData?.includes(event.data.trim())) {
        try {
          json = JSON.parse(event.data);
        } catch {
          const sample = scrubSecrets(event.data.slice(0, 80), o.secrets);
          return new LlmMalformedResponseError(`${o.data.provider}: stream event is not JSON: ${JSON.stringify(sample)}`, o.data);
        }
      }
      const verdict = o.protocol.classify(event, json);
      if (verdict === 'end') ended = true;
      else if (verdict !== 'data') return errorForStatus(verdict.status, scrubSecrets(verdict.message, o.secrets), o.data);
    }
    return undefined;
  };

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (sse && !ended) {
      const how = parser.pending ? 'in the middle of an event' : "before the provider's end marker";
      fail(controller, new LlmStreamBrokenError(`${o.data.provider}: the stream ended ${how}`, o.data));
      return;
    }
    if (jsonBody) {
      const whole = Buffer.concat(held);
      try {
        JSON.parse(whole.toString('utf8'));
      } catch {
        fail(controller, new LlmMalformedResponseError(`${o.data.provider}: the response body is not JSON`, o.data));
        return;
      }
      if (whole.length > 0) controller.enqueue(new Uint8Array(whole));
    }
    controller.close();
  };

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loops until it has enqueued, closed or failed: a pull that returns having done none of
      // these is not called again, and the reader waiting on it would hang.
      for (;;) {
        const step = await readWithin(reader, o.idleTimeoutMs).catch((err: unknown) => ({ broken: err }));
        if (step === IDLE) {
          fail(
            controller,
            new LlmTimeoutError(`${o.data.provider}: no data for ${o.idleTimeoutMs} ms while the answer was arriving`, o.data),
          );
          return;
        }
        if ('broken' in step) {
          fail(
            controller,
            new LlmStreamBrokenError(`${o.data.provider}: the connection broke while the answer was arriving`, o.data, step.broken),
          );
          return;
        }
        if (step.done) {
          finish(controller);
          return;
        }
        if (jsonBody) {
          held.push(step.value);
          continue;
        }
        const problem = sse ? inspect(parser.push(step.value)) : undefined;
        if (problem) fail(controller, problem);
        else controller.enqueue(step.value);
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

const IDLE = Symbol('idle');

/** One read, or IDLE when nothing arrives in time. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>> | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimeout(() => resolve(IDLE), ms);
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
