import { captureLogger } from '@kokex/core/testing';
import { LlmErrorCode, usageCallback } from '@kokex/llm-common';
import {
  collectChunks,
  completionChunk,
  completionJson,
  DONE,
  FAST_TEST_TIMINGS,
  placeOrderTool,
  rejectionOf,
  scriptedProviderSuite,
  streamToEnd,
  textStream,
  toolCallStream,
} from '@kokex/llm-common/testing';
import type { LlmUsage } from '@kokex/core';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiChatModel, type OpenAiOptions } from '../src/index.js';

const KEY_ENV = 'KOKEX_TEST_OPENAI_KEY';
const KEY = 'sk-test-openai-0123456789abcdef';

const suite = scriptedProviderSuite(KEY_ENV, KEY);
beforeAll(suite.start);
afterAll(suite.stop);
afterEach(suite.reset);

/** Against the scripted server, but priced and keyed as OpenAI so accounting is exercised. */
const model = (extra: Partial<OpenAiOptions> = {}) =>
  createOpenAiChatModel({
    baseUrl: `${suite.server.url}/v1`,
    apiKeyEnv: KEY_ENV,
    requireKey: true,
    prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
    ...FAST_TEST_TIMINGS,
    ...extra,
  });

const placeOrder = placeOrderTool();

describe('openai provider: the Chat Completions protocol', () => {
  it('answers a call with the key from the environment, and prices and reports its usage', async () => {
    suite.server.reply({ json: completionJson({ content: 'Hold: P(up) is 0.52.' }, { prompt: 1000, completion: 200 }) });
    const m = await model();
    const usages: LlmUsage[] = [];
    const answer = await m.invoke([new HumanMessage('decide')], { callbacks: [usageCallback((u) => usages.push(u))] });
    expect(answer.content).toBe('Hold: P(up) is 0.52.');
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 1000, output_tokens: 200 });
    const req = suite.server.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'decide' }] });
    await new Promise((r) => setTimeout(r, 10));
    const expected = { provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1000, outputTokens: 200, costUsd: 0.00027 };
    expect(usages).toEqual([expected]);
    expect(m.usageMeter.totals()).toEqual({ calls: 1, inputTokens: 1000, outputTokens: 200, costUsd: 0.00027 });
  });

  it('streams tokens in order and takes usage from the final chunk', async () => {
    suite.server.reply({ sse: textStream(['The ', 'forecast ', 'is ', 'weak.'], { prompt: 50, completion: 4 }), gapMs: 5 });
    const m = await model();
    const { tokens, message } = await collectChunks(await m.stream([new HumanMessage('hi')]));
    expect(tokens).toEqual(['The ', 'forecast ', 'is ', 'weak.']);
    expect(message.usage_metadata).toMatchObject({ input_tokens: 50, output_tokens: 4 });
    expect(suite.server.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(m.usageMeter.totals()).toMatchObject({ calls: 1, inputTokens: 50, outputTokens: 4 });
  });

  it('sends bound tools and assembles a tool call streamed in pieces', async () => {
    suite.server.reply({
      sse: toolCallStream([{ id: 'call_1', name: 'place_order', args: { side: 'buy', size: 0.01 } }], 4, { prompt: 80, completion: 12 }),
    });
    const m = (await model()).bindTools([placeOrder]);
    const { message } = await collectChunks(await m.stream([new HumanMessage('buy a little')]));
    expect(message.tool_calls).toEqual([{ id: 'call_1', name: 'place_order', args: { side: 'buy', size: 0.01 }, type: 'tool_call' }]);
    const body = suite.server.requests[0]?.body as { tools: Array<{ function: { name: string; parameters: unknown } }> };
    expect(body.tools[0]?.function.name).toBe('place_order');
    expect(body.tools[0]?.function.parameters).toMatchObject({ properties: { side: { enum: ['buy', 'sell'] } } });
  });

  it('sends a tool result back as a tool message and reads a non-streamed tool call', async () => {
    suite.server.reply({
      json: completionJson(
        { toolCalls: [{ id: 'call_2', name: 'place_order', args: { side: 'sell', size: 1 } }] },
        { prompt: 9, completion: 3 },
      ),
    });
    const m = (await model()).bindTools([placeOrder]);
    const history = [
      new HumanMessage('go'),
      new AIMessage({ content: '', tool_calls: [{ id: 'call_1', name: 'get_forecast', args: {} }] }),
      new ToolMessage({ tool_call_id: 'call_1', content: '{"pUp":0.3}' }),
    ];
    const answer = await m.invoke(history);
    expect(answer.tool_calls?.[0]).toMatchObject({ name: 'place_order', args: { side: 'sell', size: 1 } });
    const sent = (suite.server.requests[0]!.body as { messages: Array<Record<string, unknown>> }).messages;
    expect(sent[2]).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '{"pUp":0.3}' });
  });

  it('talks to an OpenAI-compatible server without a key, at no cost', async () => {
    const saved = process.env[KEY_ENV];
    delete process.env[KEY_ENV];
    try {
      suite.server.reply({ json: completionJson({ content: 'local' }, { prompt: 10, completion: 1 }, 'qwen2.5:7b') });
      const m = await createOpenAiChatModel({ baseUrl: `${suite.server.url}/v1`, model: 'qwen2.5:7b', apiKeyEnv: KEY_ENV });
      expect((await m.invoke('hi')).content).toBe('local');
      expect(m.usageMeter.totals()).toMatchObject({ inputTokens: 10, costUsd: 0 });
      await expect(createOpenAiChatModel({ apiKeyEnv: KEY_ENV })).rejects.toMatchObject({ code: LlmErrorCode.KeyMissing });
    } finally {
      process.env[KEY_ENV] = saved;
    }
  });
});

describe('openai provider: failures', () => {
  it('retries a 429 and then streams the answer', async () => {
    suite.server.reply({
      status: 429,
      headers: { 'retry-after-ms': '10' },
      json: { error: { message: 'Rate limit reached', type: 'requests' } },
    });
    suite.server.reply({ sse: textStream(['ok'], { prompt: 1, completion: 1 }) });
    const m = await model();
    const { tokens } = await collectChunks(await m.stream('hi'));
    expect(tokens).toEqual(['ok']);
    expect(suite.server.requests).toHaveLength(2);
  });

  it('gives up on repeated 5xx with LLM_SERVER', async () => {
    for (let i = 0; i < 3; i++) suite.server.reply({ status: 503, json: { error: { message: 'The server is overloaded' } } });
    const err = await rejectionOf((await model()).invoke('hi'));
    expect(err).toMatchObject({ code: LlmErrorCode.Server, retryable: true });
    expect(err.data).toMatchObject({ status: 503, attempts: 3 });
  });

  it('reports a 401 as LLM_AUTH and never logs or shows the key', async () => {
    suite.server.reply({ status: 401, json: { error: { message: `Incorrect API key provided: ${KEY}.`, code: 'invalid_api_key' } } });
    const m = await model();
    const err = await rejectionOf(m.invoke('hi'));
    expect(err.code).toBe(LlmErrorCode.Auth);
    expect(suite.server.requests).toHaveLength(1);
    const { log, lines } = captureLogger();
    log.error({ err, config: { apiKey: KEY, model: 'gpt-4o-mini' } }, 'llm call failed');
    log.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(lines().join('\n')).toContain('LLM_AUTH');
    expect(lines().join('\n')).not.toContain(KEY);
    expect(`${err.message} ${JSON.stringify(err.data)}`).not.toContain(KEY);
  });

  it('turns a malformed chunk into LLM_MALFORMED_RESPONSE', async () => {
    suite.server.reply({
      sse: [completionChunk({ role: 'assistant', content: 'Hel' }), 'data: {"choices": [{"delta": {"content": "lo"}\n\n', DONE],
    });
    const err = await rejectionOf(streamToEnd(await model()));
    expect(err.code).toBe(LlmErrorCode.MalformedResponse);
  });

  it('turns a stream cut off in the middle of a tool call into LLM_STREAM_BROKEN', async () => {
    const parts = toolCallStream([{ id: 'c', name: 'place_order', args: { side: 'buy', size: 2 } }]);
    suite.server.reply({ sse: parts.slice(0, 3) });
    const m = (await model()).bindTools([placeOrder]);
    const err = await rejectionOf(streamToEnd(m, 'go'));
    expect(err).toMatchObject({ code: LlmErrorCode.StreamBroken, retryable: true });
  });

  it('turns a connection destroyed mid-stream into LLM_STREAM_BROKEN', async () => {
    suite.server.reply({ sse: [...textStream(['a', 'b']).slice(0, 2), 'data: {"id": "x", "cho'], finish: 'destroy' });
    const err = await rejectionOf(streamToEnd(await model()));
    expect(err.code).toBe(LlmErrorCode.StreamBroken);
  });

  it('accepts a slow stream but times out a stalled one', async () => {
    suite.server.reply({ sse: textStream(['slow ', 'but ', 'steady']), gapMs: 120 });
    const m = await model();
    expect((await collectChunks(await m.stream('hi'))).tokens).toEqual(['slow ', 'but ', 'steady']);
    suite.server.reply({ sse: textStream(['stuck']), stallAt: 2, stallMs: 1000 });
    const err = await rejectionOf(streamToEnd(m));
    expect(err.code).toBe(LlmErrorCode.Timeout);
  });

  it('times out a server that never answers, after its retries', async () => {
    suite.server.reply({ hang: true }, { hang: true });
    const err = await rejectionOf((await model({ maxRetries: 1, timeoutMs: 150 })).invoke('hi'));
    expect(err).toMatchObject({ code: LlmErrorCode.Timeout, retryable: true });
    expect(err.data.attempts).toBe(2);
  });

  it('maps an error object inside the stream by its code', async () => {
    suite.server.reply({
      sse: [completionChunk({ content: 'x' }), { data: { error: { message: 'Rate limit', type: 'rate_limit_exceeded' } } }],
    });
    const err = await rejectionOf(streamToEnd(await model()));
    expect(err.code).toBe(LlmErrorCode.RateLimited);
  });

  it("reports an aborted call as LLM_ABORTED; an aborted stream ends with the caller's own abort reason", async () => {
    const m = await model();
    suite.server.reply({ hang: true });
    const abortCall = new AbortController();
    setTimeout(() => abortCall.abort(), 50);
    expect((await rejectionOf(m.invoke('hi', { signal: abortCall.signal }))).code).toBe(LlmErrorCode.Aborted);
    // LangChain checks the signal between chunks itself, outside the provider, and rethrows its reason.
    suite.server.reply({ sse: textStream(['a', 'b', 'c']), gapMs: 200 });
    const abortStream = new AbortController();
    setTimeout(() => abortStream.abort(), 100);
    const err = await rejectionOf(streamToEnd(m, 'hi', { signal: abortStream.signal }));
    expect((err as unknown as Error).name).toBe('AbortError');
  });
});
