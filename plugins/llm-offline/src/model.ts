import type { LlmUsage } from '@kokex/core';
import { LLM_USAGE_EVENT, UsageMeter } from '@kokex/llm-common';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { type BaseChatModelCallOptions, BaseChatModel, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { type OfflinePolicyConfig, type OfflinePolicyOptions, offlinePolicyConfigSchema } from './config.js';
import { readConversation } from './conversation.js';
import { decideNextStep, type PolicyStep } from './rules.js';

/** The adapter name plans use: `agent.provider: offline-policy` (the plan schema's default). */
export const OFFLINE_POLICY_PROVIDER = 'offline-policy';

/** A bound tool as the OpenAI function format describes it; only its name and parameters are read. */
interface BoundTool {
  type?: string;
  function?: { name: string; parameters?: { properties?: Record<string, unknown> } };
}

export interface OfflinePolicyCallOptions extends BaseChatModelCallOptions {
  tools?: BoundTool[];
}

/**
 * A deterministic rule policy behind the chat-model interface, so the agent runs the same loop
 * with it as with an LLM (and the demo and loop tests need no model). It is not a language model:
 * it reads only the numbers of its own tool results (forecast P(up) and skill, the position) and
 * never the prompt or the human message. Each answer carries `response_metadata.decision`.
 */
export class OfflineRulePolicy extends BaseChatModel<OfflinePolicyCallOptions, AIMessageChunk> {
  readonly config: OfflinePolicyConfig;
  /** Calls since creation; tokens and cost stay 0, there is no model. */
  readonly usageMeter = new UsageMeter();

  constructor(options: OfflinePolicyOptions = {}) {
    super({});
    this.config = offlinePolicyConfigSchema.parse(options);
  }

  static override lc_name(): string {
    return 'OfflineRulePolicy';
  }

  _llmType(): string {
    return OFFLINE_POLICY_PROVIDER;
  }

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<OfflinePolicyCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, OfflinePolicyCallOptions> {
    return this.withConfig({ ...kwargs, tools: tools.map((t) => convertToOpenAITool(t) as BoundTool) });
  }

  /** The step this conversation calls for, as an AI message. */
  #respond(messages: BaseMessage[], options: this['ParsedCallOptions']): { step: PolicyStep; message: AIMessage } {
    const bound = new Map((options.tools ?? []).flatMap((t) => (t.function ? [[t.function.name, t.function] as const] : [])));
    const state = readConversation(messages);
    const step = decideNextStep(state, this.config, new Set(bound.keys()));
    if (step.kind === 'answer') {
      return {
        step,
        message: new AIMessage({ content: step.text, response_metadata: { decision: step.decision, finish_reason: 'stop' } }),
      };
    }
    // Arguments the bound tool does not declare are dropped, so a strict tool schema accepts them.
    const declared = bound.get(step.tool)?.parameters?.properties;
    const args = declared ? Object.fromEntries(Object.entries(step.args).filter(([k]) => k in declared)) : step.args;
    const id = `offline_${state.aiTurns + 1}_${step.tool}`;
    return {
      step,
      message: new AIMessage({
        content: '',
        tool_calls: [{ id, name: step.tool, args, type: 'tool_call' }],
        response_metadata: { finish_reason: 'tool_calls' },
      }),
    };
  }

  async #reportUsage(runManager: CallbackManagerForLLMRun | undefined): Promise<void> {
    const usage: LlmUsage = { provider: OFFLINE_POLICY_PROVIDER, model: this.config.model, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    this.usageMeter.record(usage);
    await runManager?.handleCustomEvent(LLM_USAGE_EVENT, usage);
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    options.signal?.throwIfAborted();
    const { message } = this.#respond(messages, options);
    await this.#reportUsage(runManager);
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
  }

  /** Streams an answer word by word (so token streaming is exercised), a tool call as one chunk. */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const { step, message } = this.#respond(messages, options);
    if (step.kind === 'call') {
      const call = message.tool_calls?.[0];
      yield new ChatGenerationChunk({
        text: '',
        message: new AIMessageChunk({
          content: '',
          tool_call_chunks: call
            ? [{ id: call.id, name: call.name, args: JSON.stringify(call.args), index: 0, type: 'tool_call_chunk' }]
            : [],
          response_metadata: message.response_metadata,
        }),
      });
    } else {
      const words = step.text.match(/\S+\s*/g) ?? [];
      for (const [i, word] of words.entries()) {
        options.signal?.throwIfAborted();
        const last = i === words.length - 1;
        const chunk = new ChatGenerationChunk({
          text: word,
          message: new AIMessageChunk({ content: word, response_metadata: last ? message.response_metadata : {} }),
        });
        yield chunk;
        await runManager?.handleLLMNewToken(word, undefined, undefined, undefined, undefined, { chunk });
      }
    }
    await this.#reportUsage(runManager);
  }
}
