import type { ChatOutcome, ConversationEndReason } from '@kokex/core';
import { type ChatModel, type Clock, isKokexError, type Logger, toWireError } from '@kokex/core';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { AIMessage, type AIMessageChunk, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import type { AgentPlan } from './config.js';
import { AgentModelError } from './errors.js';
import type { ConversationRecorder } from './recorder.js';
import { boundTools, type ToolRunner } from './tools.js';

/**
 * One conversation: the tool-calling loop, bounded per trigger by the plan's limits on model
 * turns, tool calls, tokens and wall-clock time. The bounds are counted here, in code, never left
 * to the model: nothing a tool result says can lift them. Every message, tool call and result is
 * recorded before the loop moves on, and model text is streamed as it arrives.
 */
export const LLM_USAGE_EVENT = 'kokex.llm.usage';

export interface ConversationInput {
  plan: AgentPlan;
  system: string;
  /** The opening user message (the trigger, or the chat line). */
  input: string;
  /** Earlier exchanges of a chat. */
  history: Array<{ role: 'user' | 'assistant'; content: string }>;
}

export interface ConversationDeps {
  model: ChatModel;
  tools: ToolRunner;
  recorder: ConversationRecorder;
  clock: Clock;
  log: Logger;
  /** Aborted when the actor stops. */
  signal: AbortSignal;
  maxToolResultChars: number;
}

interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((b) => (typeof b === 'string' ? b : typeof b?.text === 'string' ? b.text : '')).join('')
      : '';

/** Rough token count for providers that report none: four characters a token. */
const estimateTokens = (text: string) => Math.ceil(text.length / 4);

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters cut]`;
}

export async function runConversation(input: ConversationInput, deps: ConversationDeps): Promise<ChatOutcome> {
  const { plan } = input;
  const { limits } = plan;
  const { recorder, clock } = deps;
  const started = clock.now();
  const timeout = new AbortController();
  const timer = clock.setTimeout(() => timeout.abort(new Error('timeout')), limits.timeoutMs);
  const signal = AbortSignal.any([deps.signal, timeout.signal]);
  const messages: BaseMessage[] = [
    new SystemMessage(input.system),
    ...input.history.map((h) => (h.role === 'user' ? new HumanMessage(h.content) : new AIMessage(h.content))),
    new HumanMessage(input.input),
  ];
  const usage: Usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  const intents: string[] = [];
  let turns = 0;
  let toolCalls = 0;
  let answer = '';
  let reason: ConversationEndReason = 'answered';
  let failure: unknown;

  const model = plan.tools.length && deps.model.bindTools ? deps.model.bindTools(boundTools(plan.tools)) : deps.model;
  try {
    await recorder.record({ record: 'message', role: 'user', turn: 0, content: input.input, toolCalls: [] });
    for (;;) {
      if (turns >= limits.maxTurns) {
        reason = 'max_turns';
        break;
      }
      if (usage.inputTokens + usage.outputTokens >= limits.maxTokens) {
        reason = 'max_tokens';
        break;
      }
      turns += 1;
      const ai = await callModel(model, messages, signal, recorder, usage);
      messages.push(ai.message);
      const calls = ai.message.tool_calls ?? [];
      answer = textOf(ai.message.content);
      await recorder.record({
        record: 'message',
        role: 'assistant',
        turn: turns,
        content: answer,
        toolCalls: calls.map((c) => ({ id: c.id ?? '', name: c.name, args: c.args })),
        usage: { inputTokens: ai.usage.inputTokens, outputTokens: ai.usage.outputTokens },
      });
      if (calls.length === 0) break;
      if (usage.inputTokens + usage.outputTokens > limits.maxTokens) {
        reason = 'max_tokens';
        break;
      }
      for (const call of calls) {
        if (toolCalls >= limits.maxToolCalls) {
          reason = 'max_tool_calls';
          break;
        }
        signal.throwIfAborted();
        toolCalls += 1;
        const callId = call.id ?? `call_${turns}_${toolCalls}`;
        await recorder.record({ record: 'tool_call', turn: turns, callId, tool: call.name, args: call.args });
        recorder.token('tool', `${call.name} ${JSON.stringify(call.args)}`);
        const outcome = await deps.tools.run(call.name, call.args);
        const content = clip(outcome.content, deps.maxToolResultChars);
        if (outcome.intent) intents.push(outcome.intent.clientOrderId);
        await recorder.record({
          record: 'tool_result',
          turn: turns,
          callId,
          tool: call.name,
          ok: outcome.ok,
          content,
          ...(outcome.error ? { error: outcome.error.toWire() } : {}),
          ...(outcome.intent
            ? {
                intent: {
                  clientOrderId: outcome.intent.clientOrderId,
                  subject: outcome.intent.subject,
                  messageId: outcome.intent.messageId,
                  ...(outcome.intent.cancels ? { cancels: outcome.intent.cancels } : {}),
                },
              }
            : {}),
        });
        recorder.token('tool', `→ ${outcome.ok ? 'ok' : 'error'} ${clip(content, 200)}`);
        messages.push(new ToolMessage({ content, tool_call_id: callId, name: call.name, status: outcome.ok ? 'success' : 'error' }));
      }
      if (reason === 'max_tool_calls') break;
    }
  } catch (err) {
    if (timeout.signal.aborted) reason = 'timeout';
    else if (deps.signal.aborted) reason = 'aborted';
    else {
      reason = 'failed';
      failure = err;
    }
  } finally {
    clock.clearTimeout(timer);
  }
  if (reason !== 'answered' && reason !== 'failed')
    answer = `Stopped: ${reason.replace(/_/g, ' ')} reached (${describeLimit(reason, plan)}).`;
  if (failure) answer = `Failed: ${(failure as Error)?.message ?? failure}`;
  recorder.token('end', reason);
  const outcome: ChatOutcome = {
    conversation: recorder.head.conversation,
    reason,
    answer,
    turns,
    toolCalls,
    tokens: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
    intents,
  };
  await recorder.record({
    record: 'ended',
    reason,
    turns,
    toolCalls,
    tokens: outcome.tokens,
    costUsd: usage.costUsd,
    answer,
    ...(failure ? { error: toWireError(failure) } : {}),
    intents,
    durationMs: clock.now() - started,
  });
  // Every record stored before the conversation counts as ended (and its trigger is acked).
  await recorder.flush();
  if (failure && !isKokexError(failure)) deps.log.warn({ err: failure, conversation: outcome.conversation }, 'conversation failed');
  return outcome;
}

function describeLimit(reason: ConversationEndReason, plan: AgentPlan): string {
  const l = plan.limits;
  if (reason === 'max_turns') return `${l.maxTurns} model turns`;
  if (reason === 'max_tool_calls') return `${l.maxToolCalls} tool calls`;
  if (reason === 'max_tokens') return `${l.maxTokens} tokens`;
  if (reason === 'timeout') return `${Math.round(l.timeoutMs / 1000)} s`;
  return 'the agent stopped';
}

/** Streams one model turn: text goes out as tokens; usage comes from the provider's report, else an estimate. */
async function callModel(
  model: Pick<ChatModel, 'stream'>,
  messages: BaseMessage[],
  signal: AbortSignal,
  recorder: ConversationRecorder,
  totals: Usage,
): Promise<{ message: AIMessage; usage: Usage }> {
  const reported: Usage[] = [];
  const callbacks = [
    BaseCallbackHandler.fromMethods({
      handleCustomEvent(eventName: string, data: unknown) {
        const u = data as Partial<{ inputTokens: number; outputTokens: number; costUsd: number }>;
        if (eventName === LLM_USAGE_EVENT && typeof u?.inputTokens === 'number' && typeof u.outputTokens === 'number') {
          reported.push({ inputTokens: u.inputTokens, outputTokens: u.outputTokens, costUsd: u.costUsd ?? 0 });
        }
      },
    }),
  ];
  let aggregate: AIMessageChunk | undefined;
  try {
    const stream = await model.stream(messages, { signal, callbacks });
    for await (const chunk of stream) {
      aggregate = aggregate ? aggregate.concat(chunk) : chunk;
      const text = textOf(chunk.content);
      if (text) recorder.token('text', text);
    }
  } catch (err) {
    if (signal.aborted) throw err;
    throw new AgentModelError(recorder.head.plan, err);
  }
  const message = new AIMessage({
    content: aggregate?.content ?? '',
    tool_calls: aggregate?.tool_calls ?? [],
    response_metadata: aggregate?.response_metadata ?? {},
    ...(aggregate?.usage_metadata ? { usage_metadata: aggregate.usage_metadata } : {}),
  });
  let usage: Usage;
  if (reported.length) {
    usage = reported.reduce((a, b) => ({
      inputTokens: a.inputTokens + b.inputTokens,
      outputTokens: a.outputTokens + b.outputTokens,
      costUsd: a.costUsd + b.costUsd,
    }));
  } else if (aggregate?.usage_metadata) {
    usage = { inputTokens: aggregate.usage_metadata.input_tokens, outputTokens: aggregate.usage_metadata.output_tokens, costUsd: 0 };
  } else {
    const prompt = messages.map((m) => textOf(m.content)).join('\n');
    const out = textOf(message.content) + JSON.stringify(message.tool_calls ?? []);
    usage = { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(out), costUsd: 0 };
  }
  totals.inputTokens += usage.inputTokens;
  totals.outputTokens += usage.outputTokens;
  totals.costUsd += usage.costUsd;
  return { message, usage };
}
