import { resolve } from 'node:path';
import { AdapterRegistry, type ChatModel, type LlmUsage, loadPlugin } from '@kokex/core';
import { LlmErrorCode, usageCallback } from '@kokex/llm-common';
import { collectChunks, FAST_TEST_TIMINGS, rejectionOf, scriptedProviderSuite, streamToEnd } from '@kokex/llm-common/testing';
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AnthropicOptions, createAnthropicChatModel } from '../src/index.js';
import { errorBody, errorEvent, messageJson, messageStart, textEvents, toolUseEvents } from './messages.js';

const KEY_ENV = 'KOKEX_TEST_ANTHROPIC_KEY';
const KEY = 'sk-ant-test-0123456789abcdef';

const suite = scriptedProviderSuite(KEY_ENV, KEY);
beforeAll(suite.start);
afterAll(suite.stop);
afterEach(suite.reset);

const model = (extra: Partial<AnthropicOptions> = {}) =>
  createAnthropicChatModel({
    baseUrl: suite.server.url,
    apiKeyEnv: KEY_ENV,
    ...FAST_TEST_TIMINGS,
    maxTokens: 256,
    ...extra,
  });

const getForecast = tool(async () => '{}', {
  name: 'get_forecast',
  description: 'The latest forecast',
  schema: z.object({ inst: z.string() }),
});

describe('anthropic provider: the Messages protocol', () => {
  it('answers with x-api-key from the environment and prices the usage', async () => {
    suite.server.reply({ json: messageJson([{ type: 'text', text: 'No trade.' }], { input: 2000, output: 100 }) });
    const m = await model();
    const usages: LlmUsage[] = [];
    const answer = await m.invoke([new SystemMessage('You trade BTC.'), new HumanMessage('decide')], {
      callbacks: [usageCallback((u) => usages.push(u))],
    });
    expect(answer.content).toBe('No trade.');
    const req = suite.server.requests[0];
    expect(req?.path).toBe('/v1/messages');
    expect(req?.headers['x-api-key']).toBe(KEY);
    expect(req?.headers['anthropic-version']).toBeDefined();
    expect(req?.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'You trade BTC.', max_tokens: 256 });
    await new Promise((r) => setTimeout(r, 10));
    // claude-sonnet-4-5: $3 in, $15 out per million.
    expect(usages).toEqual([{ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 2000, outputTokens: 100, costUsd: 0.0075 }]);
  });

  it('streams text deltas in order, ignoring pings, and counts output tokens once', async () => {
    suite.server.reply({ sse: textEvents(['P(up) ', 'is ', '0.61.'], { input: 40, output: 7 }), gapMs: 5 });
    const m = await model();
    const { tokens } = await streamToEnd(m);
    expect(tokens).toEqual(['P(up) ', 'is ', '0.61.']);
    expect(suite.server.requests[0]?.body).toMatchObject({ stream: true });
    // message_start says 1 output token, message_delta the cumulative 7: the total is 7, not 8.
    expect(m.usageMeter.totals()).toMatchObject({ calls: 1, inputTokens: 40, outputTokens: 7 });
  });

  it('sends bound tools and assembles a streamed tool_use block', async () => {
    suite.server.reply({
      sse: toolUseEvents('Checking.', { id: 'toolu_1', name: 'get_forecast', input: { inst: 'BTC-USDT-SWAP' } }, { input: 90, output: 20 }),
    });
    const m = (await model()).bindTools([getForecast]);
    const { message } = await collectChunks(await m.stream([new HumanMessage('look')]));
    expect(message.tool_calls).toEqual([{ id: 'toolu_1', name: 'get_forecast', args: { inst: 'BTC-USDT-SWAP' }, type: 'tool_call' }]);
    const body = suite.server.requests[0]?.body as { tools: Array<{ name: string; input_schema: unknown }> };
    expect(body.tools[0]).toMatchObject({ name: 'get_forecast', input_schema: { properties: { inst: { type: 'string' } } } });
  });

  it('sends a tool result as a tool_result block', async () => {
    suite.server.reply({ json: messageJson([{ type: 'text', text: 'Done.' }], { input: 5, output: 2 }) });
    const m = (await model()).bindTools([getForecast]);
    await m.invoke([
      new HumanMessage('go'),
      new AIMessage({ content: '', tool_calls: [{ id: 'toolu_1', name: 'get_forecast', args: { inst: 'X' } }] }),
      new ToolMessage({ tool_call_id: 'toolu_1', content: '{"pUp":0.7}' }),
    ]);
    const sent = (suite.server.requests[0]!.body as { messages: Array<{ role: string; content: unknown }> }).messages;
    expect(sent[2]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"pUp":0.7}' }] });
  });

  it('refuses to start without a key and says where it looked', async () => {
    const err = await rejectionOf(createAnthropicChatModel({ apiKeyEnv: 'KOKEX_TEST_NO_SUCH_KEY' }));
    expect(err.code).toBe(LlmErrorCode.KeyMissing);
    expect(err.message).toContain('KOKEX_TEST_NO_SUCH_KEY');
  });
});

describe('anthropic provider: failures', () => {
  it('retries 429 and 529 (overloaded), then answers', async () => {
    suite.server.reply({
      status: 429,
      headers: { 'retry-after': '0' },
      json: errorBody('rate_limit_error', 'Number of requests has exceeded your rate limit'),
    });
    suite.server.reply({ status: 529, json: errorBody('overloaded_error', 'Overloaded') });
    suite.server.reply({ sse: textEvents(['fine'], { input: 1, output: 1 }) });
    expect((await streamToEnd(await model())).tokens).toEqual(['fine']);
    expect(suite.server.requests).toHaveLength(3);
  });

  it('gives up on repeated 5xx with LLM_SERVER', async () => {
    for (let i = 0; i < 3; i++) suite.server.reply({ status: 500, json: errorBody('api_error', 'Internal server error') });
    const err = await rejectionOf((await model()).invoke('hi'));
    expect(err).toMatchObject({ code: LlmErrorCode.Server, retryable: true, data: { attempts: 3, status: 500 } });
  });

  it('reports a 401 as LLM_AUTH without the key', async () => {
    suite.server.reply({ status: 401, json: errorBody('authentication_error', `invalid x-api-key ${KEY}`) });
    const err = await rejectionOf((await model()).invoke('hi'));
    expect(err.code).toBe(LlmErrorCode.Auth);
    expect(`${err.message} ${JSON.stringify(err.data)}`).not.toContain(KEY);
  });

  it('maps an overloaded error event inside the stream to a retryable LLM_SERVER', async () => {
    suite.server.reply({ sse: [messageStart({ input: 3, output: 1 }), errorEvent('overloaded_error', 'Overloaded')] });
    const err = await rejectionOf(streamToEnd(await model()));
    expect(err).toMatchObject({ code: LlmErrorCode.Server, retryable: true, data: { status: 529 } });
  });

  it('turns a malformed event into LLM_MALFORMED_RESPONSE', async () => {
    suite.server.reply({
      sse: [messageStart({ input: 3, output: 1 }), 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0,\n\n'],
    });
    expect((await rejectionOf(streamToEnd(await model()))).code).toBe(LlmErrorCode.MalformedResponse);
  });

  it('turns a stream that stops before message_stop into LLM_STREAM_BROKEN', async () => {
    const events = toolUseEvents('x', { id: 't', name: 'get_forecast', input: { inst: 'BTC-USDT' } }, { input: 1, output: 1 });
    suite.server.reply({ sse: events.slice(0, 6) });
    const m = (await model()).bindTools([getForecast]);
    expect((await rejectionOf(streamToEnd(m, 'go'))).code).toBe(LlmErrorCode.StreamBroken);
    suite.server.reply({ sse: textEvents(['a', 'b'], { input: 1, output: 1 }).slice(0, 4), finish: 'destroy' });
    expect((await rejectionOf(streamToEnd(m, 'go'))).code).toBe(LlmErrorCode.StreamBroken);
  });

  it('accepts a slow stream but times out a stalled one', async () => {
    const m = await model();
    suite.server.reply({ sse: textEvents(['slow ', 'one'], { input: 1, output: 2 }), gapMs: 40 });
    expect((await streamToEnd(m)).tokens).toEqual(['slow ', 'one']);
    suite.server.reply({ sse: textEvents(['never'], { input: 1, output: 2 }), stallAt: 3, stallMs: 1000 });
    expect((await rejectionOf(streamToEnd(m))).code).toBe(LlmErrorCode.Timeout);
  });
});

describe('the anthropic plugin', () => {
  it('loads with a matching manifest and resolves from the adapter registry', async () => {
    const plugin = await loadPlugin(resolve(import.meta.dirname, '..'));
    expect(plugin.pkg.manifest.adapters).toEqual([{ port: 'llm', name: 'anthropic' }]);
    const registry = new AdapterRegistry();
    for (const adapter of plugin.definition.adapters ?? []) registry.register(adapter);
    suite.server.reply({ json: messageJson([{ type: 'text', text: 'pong' }], { input: 1, output: 1 }) });
    const m = await registry.resolve<ChatModel>('llm', 'anthropic', { baseUrl: suite.server.url, apiKeyEnv: KEY_ENV });
    expect(typeof m.bindTools).toBe('function');
    expect((await m.invoke('ping')).content).toBe('pong');
  });
});
