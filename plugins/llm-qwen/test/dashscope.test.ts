import { resolve } from 'node:path';
import { AdapterRegistry, type ChatModel, loadPlugin } from '@kokex/core';
import { LlmErrorCode } from '@kokex/llm-common';
import {
  collectChunks,
  completionChunk,
  completionJson,
  FAST_TEST_TIMINGS,
  placeOrderTool,
  rejectionOf,
  scriptedProviderSuite,
  streamToEnd,
  textStream,
  toolCallStream,
} from '@kokex/llm-common/testing';
import { HumanMessage } from '@langchain/core/messages';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDashScopeChatModel, DASHSCOPE_BASE_URLS, type DashScopeOptions, dashScopeConfigSchema } from '../src/index.js';

const KEY_ENV = 'KOKEX_TEST_DASHSCOPE_KEY';
const KEY = 'sk-dashscope-test-0123456789';

const suite = scriptedProviderSuite(KEY_ENV, KEY);
beforeAll(suite.start);
afterAll(suite.stop);
afterEach(suite.reset);

const model = (extra: Partial<DashScopeOptions> = {}) =>
  createDashScopeChatModel({
    baseUrl: `${suite.server.url}/compatible-mode/v1`,
    apiKeyEnv: KEY_ENV,
    ...FAST_TEST_TIMINGS,
    ...extra,
  });

const placeOrder = placeOrderTool();

describe('dashscope provider (OpenAI-compatible mode)', () => {
  it('picks the regional endpoint unless baseUrl is set', () => {
    expect(dashScopeConfigSchema.parse({}).region).toBe('intl');
    expect(DASHSCOPE_BASE_URLS.cn).toBe('https://dashscope.aliyuncs.com/compatible-mode/v1');
  });

  it('streams a Qwen answer with the DashScope key and prices it from the DashScope table', async () => {
    suite.server.reply({ sse: textStream(['看涨', ' 0.58'], { prompt: 1_000_000, completion: 0 }, 'qwen-plus') });
    const m = await model({ enableThinking: false });
    const { tokens } = await streamToEnd(m);
    expect(tokens).toEqual(['看涨', ' 0.58']);
    const req = suite.server.requests[0];
    expect(req?.path).toBe('/compatible-mode/v1/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.body).toMatchObject({ model: 'qwen-plus', enable_thinking: false, stream_options: { include_usage: true } });
    expect(m.usageMeter.totals()).toEqual({ calls: 1, inputTokens: 1_000_000, outputTokens: 0, costUsd: 0.4 });
  });

  it('assembles a streamed tool call', async () => {
    suite.server.reply({ sse: toolCallStream([{ id: 'call_q', name: 'place_order', args: { side: 'sell', size: 0.5 } }], 5) });
    const m = (await model()).bindTools([placeOrder]);
    const { message } = await collectChunks(await m.stream([new HumanMessage('sell half')]));
    expect(message.tool_calls?.[0]).toMatchObject({ id: 'call_q', name: 'place_order', args: { side: 'sell', size: 0.5 } });
  });

  it('retries a 429 and a 503, and gives up on 5xx after maxRetries', async () => {
    suite.server.reply(
      { status: 429, json: { error: { code: 'Throttling.RateQuota', message: 'Requests rate limit exceeded' } } },
      { status: 503, text: 'upstream unavailable' },
      { json: completionJson({ content: 'ok' }, { prompt: 1, completion: 1 }, 'qwen-plus') },
    );
    const m = await model();
    expect((await m.invoke('hi')).content).toBe('ok');
    for (let i = 0; i < 3; i++) suite.server.reply({ status: 500, json: { error: { code: 'InternalError', message: 'internal' } } });
    expect(await rejectionOf(m.invoke('hi'))).toMatchObject({ code: LlmErrorCode.Server, data: { provider: 'dashscope', attempts: 3 } });
  });

  it('reports malformed, truncated and stalled streams with their codes', async () => {
    const m = await model();
    suite.server.reply({ sse: [completionChunk({ content: 'a' }, null, 'qwen-plus'), 'data: not json\n\n'] });
    expect((await rejectionOf(streamToEnd(m))).code).toBe(LlmErrorCode.MalformedResponse);
    suite.server.reply({ sse: textStream(['a', 'b']).slice(0, 2) });
    expect((await rejectionOf(streamToEnd(m))).code).toBe(LlmErrorCode.StreamBroken);
    suite.server.reply({ sse: textStream(['a', 'b']), stallAt: 1, stallMs: 800 });
    expect((await rejectionOf(streamToEnd(m))).code).toBe(LlmErrorCode.Timeout);
    suite.server.reply({ sse: textStream(['slow', ' but fine']), gapMs: 100 });
    expect((await streamToEnd(m)).tokens).toEqual(['slow', ' but fine']);
  });

  it('needs a key, even with a baseUrl', async () => {
    const err = await rejectionOf(createDashScopeChatModel({ apiKeyEnv: 'KOKEX_TEST_NO_SUCH_KEY', baseUrl: suite.server.url }));
    expect(err.code).toBe(LlmErrorCode.KeyMissing);
  });

  it('loads as a plugin and resolves from the adapter registry', async () => {
    const plugin = await loadPlugin(resolve(import.meta.dirname, '..'));
    expect(plugin.pkg.manifest.adapters).toEqual([{ port: 'llm', name: 'dashscope' }]);
    const registry = new AdapterRegistry();
    for (const adapter of plugin.definition.adapters ?? []) registry.register(adapter);
    suite.server.reply({ json: completionJson({ content: 'pong' }, { prompt: 1, completion: 1 }, 'qwen-plus') });
    const m = await registry.resolve<ChatModel>('llm', 'dashscope', { baseUrl: suite.server.url, apiKeyEnv: KEY_ENV });
    expect((await m.invoke('ping')).content).toBe('pong');
  });
});
