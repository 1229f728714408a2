// Anthropic Messages payloads as the API sends them, for the scripted server.
import type { SsePart } from '@kokex/llm-common/testing';

export interface ScriptedUsage {
  input: number;
  output: number;
}

const MODEL = 'claude-sonnet-4-5-20250929';

const ev = (event: string, data: Record<string, unknown>): SsePart => ({ event, data: { type: event, ...data } });

export function messageStart(usage: ScriptedUsage, model = MODEL): SsePart {
  return ev('message_start', {
    message: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // As the API does: input tokens up front, a first output token counted.
      usage: { input_tokens: usage.input, output_tokens: 1 },
    },
  });
}

export function messageEnd(stopReason: string, usage: ScriptedUsage): SsePart[] {
  return [
    ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } }),
    ev('message_stop', {}),
  ];
}

/** A streamed text answer in `pieces`, with a ping in the middle as the API sends. */
export function textEvents(pieces: string[], usage: ScriptedUsage): SsePart[] {
  return [
    messageStart(usage),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
    ...pieces.map((text) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    ev('content_block_stop', { index: 0 }),
    ...messageEnd('end_turn', usage),
  ];
}

/** Text, then a tool_use block whose input JSON arrives in `slices` pieces. */
export function toolUseEvents(
  text: string,
  call: { id: string; name: string; input: Record<string, unknown> },
  usage: ScriptedUsage,
  slices = 3,
): SsePart[] {
  const json = JSON.stringify(call.input);
  const size = Math.ceil(json.length / slices);
  const deltas: SsePart[] = [];
  for (let i = 0; i < json.length; i += size) {
    deltas.push(ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: json.slice(i, i + size) } }));
  }
  return [
    messageStart(usage),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
    ev('content_block_stop', { index: 0 }),
    ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
    ...deltas,
    ev('content_block_stop', { index: 1 }),
    ...messageEnd('tool_use', usage),
  ];
}

/** A non-streamed message. */
export function messageJson(content: Array<Record<string, unknown>>, usage: ScriptedUsage, stopReason = 'end_turn') {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: MODEL,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  };
}

/** Anthropic's error body and the in-stream error event. */
export const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message } });
export const errorEvent = (type: string, message: string): SsePart => ({ event: 'error', data: errorBody(type, message) });
