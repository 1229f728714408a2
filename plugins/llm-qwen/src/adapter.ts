import type { AdapterDefinition } from '@kokex/core';
import type { RetryInfo } from '@kokex/llm-common';
import { createOpenAiCompatibleModel, type KokexChatOpenAI } from '@kokex/llm-common/openai';
import { DASHSCOPE_BASE_URLS, type DashScopeOptions, dashScopeConfigSchema } from './config.js';
import { DASHSCOPE_PRICES } from './prices.js';

/** The adapter name plans use: `agent.provider: dashscope`. */
export const DASHSCOPE_PROVIDER = 'dashscope';

/**
 * A Qwen chat model on DashScope. It speaks DashScope's OpenAI-compatible mode through
 * @langchain/openai, which carries streaming and tool calls; LangChain's DashScope-native model
 * (`ChatAlibabaTongyi` in @langchain/community) has no tool calling, which the agent needs.
 */
export async function createDashScopeChatModel(
  options: DashScopeOptions,
  hooks: { onRetry?: (info: RetryInfo) => void } = {},
): Promise<KokexChatOpenAI> {
  const config = dashScopeConfigSchema.parse(options);
  return createOpenAiCompatibleModel({
    provider: DASHSCOPE_PROVIDER,
    config,
    baseUrl: config.baseUrl ?? DASHSCOPE_BASE_URLS[config.region],
    prices: DASHSCOPE_PRICES,
    requireKey: true,
    extraBody: config.enableThinking === undefined ? undefined : { enable_thinking: config.enableThinking },
    onRetry: hooks.onRetry,
  });
}

/** `{port: 'llm', name: 'dashscope'}`: resolved by the agent through core's adapter registry. */
export const dashScopeAdapter: AdapterDefinition<KokexChatOpenAI> = {
  port: 'llm',
  name: DASHSCOPE_PROVIDER,
  description: 'Qwen models on Alibaba Cloud DashScope (OpenAI-compatible mode)',
  configSchema: dashScopeConfigSchema,
  create: (config) => createDashScopeChatModel(config as DashScopeOptions),
};
