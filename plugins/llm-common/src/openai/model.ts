import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import type { ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import { ChatOpenAICompletions, type ChatOpenAIFields } from '@langchain/openai';
import { type LlmCommonConfig, sdkTimeoutMs } from '../config.js';
import { guardGenerate, guardStream, type ModelIdentity } from '../guard.js';
import type { RetryInfo } from '../http.js';
import { readApiKey, requireApiKey } from '../keys.js';
import { providerRuntime } from '../runtime.js';
import type { PriceTable, UsageMeter } from '../usage.js';
import { openAiStreamProtocol } from './protocol.js';

/**
 * LangChain's Chat Completions model with KOKEX's call guard: every failure is a typed `LlmError`,
 * every call's usage is priced and reported (`kokex.llm.usage` callback event and `usageMeter`).
 * Chat Completions rather than `ChatOpenAI`, which may switch some models to the Responses API:
 * Chat Completions is what every OpenAI-compatible server speaks.
 */
export class KokexChatOpenAI extends ChatOpenAICompletions {
  readonly #identity: ModelIdentity;

  constructor(fields: ChatOpenAIFields, identity: ModelIdentity) {
    super(fields);
    this.#identity = identity;
  }

  /** Tokens and USD of every call since this model was created. */
  get usageMeter(): UsageMeter {
    return this.#identity.meter;
  }

  /** The adapter name the plan uses (`openai`, `dashscope`). */
  get provider(): string {
    return this.#identity.provider;
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

/** How a provider built on the OpenAI protocol differs from OpenAI (used by `dashscope`). */
export interface OpenAiCompatibleOptions {
  /** Adapter name, used in errors and usage. */
  provider: string;
  config: LlmCommonConfig & { streamUsage?: boolean };
  baseUrl: string;
  prices: PriceTable;
  /** Whether a missing key is an error (`LLM_KEY_MISSING`). */
  requireKey: boolean;
  /** Extra request body fields (DashScope's `enable_thinking`). */
  extraBody?: Record<string, unknown>;
  onRetry?: (info: RetryInfo) => void;
}

/** Key sent to a keyless local server: the SDK insists on one, and such servers ignore it. */
export const NO_KEY = 'not-needed';

/** Builds a guarded Chat Completions model for OpenAI or any server that speaks its protocol. */
export async function createOpenAiCompatibleModel(o: OpenAiCompatibleOptions): Promise<KokexChatOpenAI> {
  const source = { provider: o.provider, envVar: o.config.apiKeyEnv, secretsFile: o.config.secretsFile };
  const apiKey = o.requireKey ? await requireApiKey(source) : await readApiKey(source);
  const runtime = providerRuntime({
    provider: o.provider,
    config: o.config,
    protocol: openAiStreamProtocol,
    prices: o.prices,
    apiKey,
    onRetry: o.onRetry,
  });
  return new KokexChatOpenAI(
    {
      model: o.config.model,
      temperature: o.config.temperature,
      maxTokens: o.config.maxTokens,
      apiKey: apiKey ?? NO_KEY,
      streamUsage: o.config.streamUsage ?? true,
      // Retries live in the provider fetch; LangChain's and the SDK's are off so they do not multiply.
      maxRetries: 0,
      timeout: sdkTimeoutMs(o.config),
      modelKwargs: o.extraBody,
      // logLevel off: the SDK would print a malformed event's raw text to the console.
      configuration: { baseURL: o.baseUrl, fetch: runtime.fetch, logLevel: 'off', maxRetries: 0 },
    },
    runtime.identity,
  );
}
