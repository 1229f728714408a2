import type { AdapterDefinition } from '@kokex/core';
import type { RetryInfo } from '@kokex/llm-common';
import { createOpenAiCompatibleModel, type KokexChatOpenAI } from '@kokex/llm-common/openai';
import { isOpenAiEndpoint, OPENAI_BASE_URL, type OpenAiOptions, openAiConfigSchema } from './config.js';
import { OPENAI_PRICES } from './prices.js';

/** The adapter name plans use: `agent.provider: openai`. */
export const OPENAI_PROVIDER = 'openai';

/**
 * A chat model for OpenAI, or for an OpenAI-compatible server when `baseUrl` names one (vLLM
 * `http://host:8000/v1`, Ollama `http://localhost:11434/v1`, llama.cpp `http://localhost:8080/v1`).
 */
export async function createOpenAiChatModel(
  options: OpenAiOptions,
  hooks: { onRetry?: (info: RetryInfo) => void } = {},
): Promise<KokexChatOpenAI> {
  const config = openAiConfigSchema.parse(options);
  const official = isOpenAiEndpoint(config);
  return createOpenAiCompatibleModel({
    provider: OPENAI_PROVIDER,
    config,
    baseUrl: config.baseUrl ?? OPENAI_BASE_URL,
    // Another server's models are not OpenAI's, whatever they are called: free unless priced in config.
    prices: official ? OPENAI_PRICES : {},
    requireKey: config.requireKey ?? official,
    onRetry: hooks.onRetry,
  });
}

/** `{port: 'llm', name: 'openai'}`: resolved by the agent through core's adapter registry. */
export const openAiAdapter: AdapterDefinition<KokexChatOpenAI> = {
  port: 'llm',
  name: OPENAI_PROVIDER,
  description: 'OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp) through @langchain/openai',
  configSchema: openAiConfigSchema,
  create: (config) => createOpenAiChatModel(config as OpenAiOptions),
};
