import type { BaseChatModel } from '@langchain/core/language_models/chat_models';

/**
 * The LLM port: a provider plugin contributes `{port: 'llm', name, create(config)}` whose `create`
 * returns a LangChain chat model that supports tool calling (`bindTools`) and streaming. The agent
 * knows only this; OpenAI, Anthropic, Qwen/DashScope and the offline rule policy are packages.
 */
export type ChatModel = BaseChatModel;

/** What every provider accepts (each may add its own fields). Keys never appear here: they come from the environment. */
export interface LlmAdapterConfig {
  model: string;
  temperature?: number;
  maxTokens?: number;
  /** Override the provider's endpoint (an OpenAI-compatible server, a local test server). */
  baseUrl?: string;
  timeoutMs?: number;
  maxRetries?: number;
}

/** Token use and what it cost, per call; the agent sums it per plan. */
export interface LlmUsage {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** USD from the provider's price table; 0 when unknown or free (the offline policy). */
  costUsd: number;
}
