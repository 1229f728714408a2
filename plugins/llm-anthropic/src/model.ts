import type { AdapterDefinition } from '@kokex/core';
import {
  guardGenerate,
  guardStream,
  type ModelIdentity,
  providerRuntime,
  type RetryInfo,
  requireApiKey,
  sdkTimeoutMs,
  type UsageMeter,
} from '@kokex/llm-common';
import { ChatAnthropic, type ChatAnthropicInput } from '@langchain/anthropic';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import type { ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import { ANTHROPIC_BASE_URL, type AnthropicOptions, anthropicConfigSchema } from './config.js';
import { ANTHROPIC_PRICES } from './prices.js';
import { anthropicStreamProtocol } from './protocol.js';

/** The adapter name plans use: `agent.provider: anthropic`. */
export const ANTHROPIC_PROVIDER = 'anthropic';

/**
 * LangChain's Anthropic model with KOKEX's call guard: every failure a typed `LlmError`, every
 * call's usage priced and reported (`kokex.llm.usage` callback event and `usageMeter`).
 */
export class KokexChatAnthropic extends ChatAnthropic {
  readonly #identity: ModelIdentity;

  constructor(fields: ChatAnthropicInput, identity: ModelIdentity) {
    super(fields);
    this.#identity = identity;
  }

  /** Tokens and USD of every call since this model was created. */
  get usageMeter(): UsageMeter {
    return this.#identity.meter;
  }

  override _generate(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    return guardGenerate(this.#identity, options.signal, runManager, () => super._generate(messages, options, runManager));
  }

  override _streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    return guardStream(this.#identity, options.signal, runManager, () => super._streamResponseChunks(messages, options, runManager));
  }

  // The native event stream would bypass the guard: bridge it from the guarded chunks instead.
  override _streamChatModelEvents(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun) {
    return BaseChatModel.prototype._streamChatModelEvents.call(this, messages, options, runManager);
  }
}

/** A Claude chat model; the key must be in ANTHROPIC_API_KEY (or `apiKeyEnv`) or the secrets file. */
export async function createAnthropicChatModel(
  options: AnthropicOptions,
  hooks: { onRetry?: (info: RetryInfo) => void } = {},
): Promise<KokexChatAnthropic> {
  const config = anthropicConfigSchema.parse(options);
  const apiKey = await requireApiKey({ provider: ANTHROPIC_PROVIDER, envVar: config.apiKeyEnv, secretsFile: config.secretsFile });
  const runtime = providerRuntime({
    provider: ANTHROPIC_PROVIDER,
    config,
    protocol: anthropicStreamProtocol,
    prices: ANTHROPIC_PRICES,
    apiKey,
    onRetry: hooks.onRetry,
  });
  return new KokexChatAnthropic(
    {
      model: config.model,
      temperature: config.temperature,
      maxTokens: config.maxTokens,
      apiKey,
      // Explicit, so ANTHROPIC_BASE_URL in the environment cannot redirect a configured model.
      anthropicApiUrl: config.baseUrl ?? ANTHROPIC_BASE_URL,
      // Retries live in the provider fetch; LangChain's and the SDK's are off so they do not multiply.
      maxRetries: 0,
      // logLevel off: the SDK would print a malformed event's raw text to the console.
      clientOptions: { fetch: runtime.fetch, logLevel: 'off', timeout: sdkTimeoutMs(config), maxRetries: 0 },
    },
    runtime.identity,
  );
}

/** `{port: 'llm', name: 'anthropic'}`: resolved by the agent through core's adapter registry. */
export const anthropicAdapter: AdapterDefinition<KokexChatAnthropic> = {
  port: 'llm',
  name: ANTHROPIC_PROVIDER,
  description: 'Anthropic Claude models through @langchain/anthropic',
  configSchema: anthropicConfigSchema,
  create: (config) => createAnthropicChatModel(config as AnthropicOptions),
};
