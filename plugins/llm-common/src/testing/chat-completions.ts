// Test support: Chat Completions payloads, as OpenAI and the compatible servers send them, for the
// scripted server (server.ts).
import type { SsePart } from './server.js';

export interface ScriptedToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export interface ScriptedUsage {
  prompt: number;
  completion: number;
}

const base = (model: string) => ({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model });

/** One `chat.completion.chunk` with one choice. */
export function completionChunk(delta: Record<string, unknown>, finishReason: string | null = null, model = 'gpt-4o-mini'): SsePart {
  return { data: { ...base(model), choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] } };
}

/** The usage chunk `stream_options.include_usage` asks for: no choices, only usage. */
export function usageChunk(usage: ScriptedUsage, model = 'gpt-4o-mini'): SsePart {
  return {
    data: {
      ...base(model),
      choices: [],
      usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
    },
  };
}

export const DONE: SsePart = { data: '[DONE]' };

/** A streamed text answer: role, the pieces, `stop`, usage, `[DONE]`. */
export function textStream(pieces: string[], usage?: ScriptedUsage, model?: string): SsePart[] {
  return [
    completionChunk({ role: 'assistant', content: '' }, null, model),
    ...pieces.map((p) => completionChunk({ content: p }, null, model)),
    completionChunk({}, 'stop', model),
    ...(usage ? [usageChunk(usage, model)] : []),
    DONE,
  ];
}

/** Streamed tool calls as OpenAI sends them: id and name first, then the arguments JSON in `pieces` slices. */
export function toolCallStream(calls: ScriptedToolCall[], pieces = 3, usage?: ScriptedUsage): SsePart[] {
  const parts: SsePart[] = [completionChunk({ role: 'assistant', content: null })];
  calls.forEach((call, index) => {
    parts.push(completionChunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    const json = JSON.stringify(call.args);
    const size = Math.ceil(json.length / pieces);
    for (let i = 0; i < json.length; i += size) {
      parts.push(completionChunk({ tool_calls: [{ index, function: { arguments: json.slice(i, i + size) } }] }));
    }
  });
  parts.push(completionChunk({}, 'tool_calls'));
  if (usage) parts.push(usageChunk(usage));
  parts.push(DONE);
  return parts;
}

/** A non-streamed `chat.completion`. */
export function completionJson(
  message: { content?: string | null; toolCalls?: ScriptedToolCall[] },
  usage: ScriptedUsage,
  model = 'gpt-4o-mini',
) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        finish_reason: message.toolCalls ? 'tool_calls' : 'stop',
        logprobs: null,
        message: {
          role: 'assistant',
          content: message.content ?? null,
          tool_calls: message.toolCalls?.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: JSON.stringify(c.args) },
          })),
        },
      },
    ],
    usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
  };
}
