import type { StreamFault, StreamProtocol } from '../body.js';

interface CompletionChunk {
  choices?: Array<{ finish_reason?: string | null }>;
  error?: { message?: string; code?: string | number | null; type?: string };
}

/** The status an in-stream `{"error": …}` stands for: its numeric code, else one read from its type. */
function faultOf(error: NonNullable<CompletionChunk['error']>): StreamFault {
  const code = Number(error.code);
  const type = `${error.type ?? ''} ${error.code ?? ''}`;
  const status = code >= 400 && code < 600 ? code : /rate|quota/i.test(type) ? 429 : /invalid|not_found/i.test(type) ? 400 : 500;
  return { status, message: error.message ?? type.trim() };
}

/**
 * The Chat Completions stream: `data: {chunk}` events ended by `data: [DONE]`. Servers that omit
 * `[DONE]` (some OpenAI-compatible ones) still count as finished once a choice has a finish reason.
 */
export const openAiStreamProtocol: StreamProtocol = {
  plainData: ['[DONE]'],
  classify(event, json) {
    if (event.data.trim() === '[DONE]') return 'end';
    const chunk = json as CompletionChunk | null;
    if (chunk?.error) return faultOf(chunk.error);
    if (chunk?.choices?.some((c) => c.finish_reason)) return 'end';
    return 'data';
  },
};
