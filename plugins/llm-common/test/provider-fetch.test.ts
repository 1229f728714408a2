import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallRecord,
  createProviderFetch,
  LlmErrorCode,
  type ProviderFetchOptions,
  type RetryInfo,
  retryAfterMs,
  type StreamProtocol,
  withCallRecord,
} from '../src/index.js';
import { type ScriptedServer, startScriptedServer } from '../src/testing/index.js';

const KEY = 'sk-test-abcdef0123456789';

/** A protocol like OpenAI's: `[DONE]` ends the stream, `{"error": …}` is a server fault. */
const doneProtocol: StreamProtocol = {
  plainData: ['[DONE]'],
  classify(event, json) {
    if (event.data === '[DONE]') return 'end';
    const error = (json as { error?: { message?: string } }).error;
    return error ? { status: 500, message: error.message ?? 'error' } : 'data';
  },
};

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server.close();
});

function providerFetch(overrides: Partial<ProviderFetchOptions> = {}, retries: RetryInfo[] = []) {
  return createProviderFetch({
    provider: 'testprov',
    model: 'm-1',
    protocol: doneProtocol,
    maxRetries: 2,
    timeoutMs: 300,
    idleTimeoutMs: 200,
    retryBaseMs: 5,
    retryMaxMs: 50,
    secrets: () => [KEY],
    random: () => 0,
    onRetry: (info) => retries.push(info),
    ...overrides,
  });
}

const post = (f: typeof fetch, init: RequestInit = {}) =>
  f(`${server.url}/v1/chat`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${KEY}` }, ...init });

async function failure(p: Promise<unknown>): Promise<{ code: string; retryable: boolean; message: string; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; retryable: boolean; message: string; data: Record<string, unknown> };
  }
  throw new Error('expected a failure');
}

describe('provider fetch: retries and backoff', () => {
  it('retries a 429 after the Retry-After the server asked for, then succeeds', async () => {
    const retries: RetryInfo[] = [];
    server.reply({ status: 429, headers: { 'retry-after-ms': '30' }, json: { error: { message: 'slow down' } } }, { json: { ok: true } });
    const started = Date.now();
    const res = await post(providerFetch({}, retries));
    expect(await res.json()).toEqual({ ok: true });
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 30, status: 429 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('gives up on 5xx after maxRetries with a retryable LLM_SERVER error that counts the attempts', async () => {
    const retries: RetryInfo[] = [];
    server.reply({ status: 503, json: { error: { message: 'busy' } } }, { status: 502, text: 'bad gateway' }, { status: 500, json: {} });
    const err = await failure(post(providerFetch({}, retries)));
    expect(err.code).toBe(LlmErrorCode.Server);
    expect(err.retryable).toBe(true);
    expect(err.data).toMatchObject({ provider: 'testprov', model: 'm-1', status: 500, attempts: 3 });
    // Exponential with random() = 0: half of 5, half of 10.
    expect(retries.map((r) => r.delayMs)).toEqual([3, 5]);
  });

  it('does not retry a 401 and keeps an echoed key out of the message', async () => {
    const retries: RetryInfo[] = [];
    server.reply({ status: 401, json: { error: { message: `Incorrect API key provided: ${KEY}` } } });
    const err = await failure(post(providerFetch({}, retries)));
    expect(err.code).toBe(LlmErrorCode.Auth);
    expect(err.retryable).toBe(false);
    expect(retries).toHaveLength(0);
    expect(err.message).toContain('Incorrect API key provided');
    expect(err.message).not.toContain(KEY);
    expect(JSON.stringify(err.data)).not.toContain(KEY);
  });

  it('rejects a 400 at once as LLM_REQUEST_REJECTED with the server reason', async () => {
    server.reply({ status: 400, json: { error: { message: 'context_length_exceeded' } } });
    const err = await failure(post(providerFetch()));
    expect(err.code).toBe(LlmErrorCode.RequestRejected);
    expect(err.message).toContain('context_length_exceeded');
  });

  it('fails at once when Retry-After is longer than retryMaxMs, saying how long', async () => {
    const retries: RetryInfo[] = [];
    server.reply({ status: 429, headers: { 'retry-after': '120' }, json: {} });
    const err = await failure(post(providerFetch({}, retries)));
    expect(err.code).toBe(LlmErrorCode.RateLimited);
    expect(err.data.retryAfterMs).toBe(120_000);
    expect(retries).toHaveLength(0);
  });

  it('times out waiting for headers, retries, then reports LLM_TIMEOUT', async () => {
    server.reply({ hang: true }, { json: { late: false }, delayMs: 400 });
    const err = await failure(post(providerFetch({ maxRetries: 1, timeoutMs: 100 })));
    expect(err.code).toBe(LlmErrorCode.Timeout);
    expect(err.data.attempts).toBe(2);
  });

  it('reports a refused connection as LLM_TRANSPORT after its retries', async () => {
    const port = await closedPort();
    const f = providerFetch({ maxRetries: 1 });
    const err = await failure(f(`http://127.0.0.1:${port}/v1/chat`, { method: 'POST', body: '{}' }));
    expect(err.code).toBe(LlmErrorCode.Transport);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('stops waiting for a retry when the caller aborts', async () => {
    server.reply({ status: 503, json: {} });
    const abort = new AbortController();
    const f = providerFetch({ retryBaseMs: 5000, retryMaxMs: 5000 });
    const pending = post(f, { signal: abort.signal });
    setTimeout(() => abort.abort(new Error('caller gave up')), 50);
    await expect(pending).rejects.toThrow('caller gave up');
  });

  it('records the typed failure in the call record for the guard', async () => {
    server.reply({ status: 404, json: { error: { message: 'model not found' } } });
    const record: CallRecord = { attempts: 0 };
    await failure(withCallRecord(record, () => post(providerFetch())));
    expect(record.failure?.code).toBe(LlmErrorCode.RequestRejected);
    expect(record.attempts).toBe(1);
  });
});

describe('provider fetch: bodies and streams', () => {
  const text = (res: Response) => res.text();

  it('passes a well-formed stream through unchanged', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, ': keep-alive\n\n', { data: { n: 2 } }, { data: '[DONE]' }], gapMs: 20 });
    const body = await text(await post(providerFetch()));
    expect(body).toBe('data: {"n":1}\n\n: keep-alive\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it('turns an event that is not JSON into LLM_MALFORMED_RESPONSE', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, 'data: {"n": 2,,\n\n', { data: '[DONE]' }] });
    const err = await failure(post(providerFetch()).then(text));
    expect(err.code).toBe(LlmErrorCode.MalformedResponse);
    expect(err.retryable).toBe(false);
  });

  it('turns a stream that ends before its end marker into LLM_STREAM_BROKEN', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, 'data: {"n"'] });
    const err = await failure(post(providerFetch()).then(text));
    expect(err.code).toBe(LlmErrorCode.StreamBroken);
    expect(err.message).toContain('in the middle of an event');
  });

  it('turns a connection destroyed mid-stream into LLM_STREAM_BROKEN', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, 'data: {"n": 2'], finish: 'destroy' });
    const err = await failure(post(providerFetch()).then(text));
    expect(err.code).toBe(LlmErrorCode.StreamBroken);
    expect(err.retryable).toBe(true);
  });

  it('turns a stream that stalls past idleTimeoutMs into LLM_TIMEOUT', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, { data: { n: 2 } }, { data: '[DONE]' }], stallAt: 1, stallMs: 600 });
    const started = Date.now();
    const err = await failure(post(providerFetch({ idleTimeoutMs: 150 })).then(text));
    expect(err.code).toBe(LlmErrorCode.Timeout);
    expect(Date.now() - started).toBeLessThan(550);
  });

  it('accepts a slow stream whose gaps stay under idleTimeoutMs', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, { data: { n: 2 } }, { data: '[DONE]' }], gapMs: 100 });
    const body = await text(await post(providerFetch({ idleTimeoutMs: 250 })));
    expect(body).toContain('[DONE]');
  });

  it('maps an error event inside the stream to the status the protocol gives it', async () => {
    server.reply({ sse: [{ data: { n: 1 } }, { data: { error: { message: `overloaded (${KEY})` } } }] });
    const err = await failure(post(providerFetch()).then(text));
    expect(err.code).toBe(LlmErrorCode.Server);
    expect(err.message).not.toContain(KEY);
  });

  it('checks a JSON body whole and rejects one that is not JSON', async () => {
    server.reply({ text: '{"choices": [', headers: { 'content-type': 'application/json' } });
    const err = await failure(post(providerFetch()).then(text));
    expect(err.code).toBe(LlmErrorCode.MalformedResponse);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
