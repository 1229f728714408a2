import type { AIMessageChunk } from '@langchain/core/messages';
import { type StructuredToolInterface, tool } from '@langchain/core/tools';
import { z } from 'zod';

/** What a provider test reads from a failure. */
export interface FailureSeen {
  name: string;
  code: string;
  retryable: boolean;
  message: string;
  data: Record<string, unknown>;
}

/** The rejection of `p`; fails the test when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<FailureSeen> {
  try {
    await p;
  } catch (err) {
    return err as FailureSeen;
  }
  throw new Error('expected a failure, the call succeeded');
}

export interface CollectedStream {
  /** The text pieces in arrival order. */
  tokens: string[];
  /** All chunks concatenated, as LangChain aggregates them (tool calls, usage). */
  message: AIMessageChunk;
}

export async function collectChunks(stream: AsyncIterable<AIMessageChunk>): Promise<CollectedStream> {
  const tokens: string[] = [];
  let message: AIMessageChunk | undefined;
  for await (const chunk of stream) {
    if (typeof chunk.content === 'string' && chunk.content) tokens.push(chunk.content);
    for (const block of Array.isArray(chunk.content) ? chunk.content : []) {
      if (typeof block === 'object' && block.type === 'text' && typeof block.text === 'string' && block.text) tokens.push(block.text);
    }
    message = message ? message.concat(chunk) : chunk;
  }
  if (!message) throw new Error('the stream yielded no chunks');
  return { tokens, message };
}

interface Streams {
  stream(input: string, options?: { signal?: AbortSignal }): Promise<AsyncIterable<AIMessageChunk>>;
}

/** Streams to the end. `stream()` already waits for the first chunk, so it must sit inside the promise. */
export function streamToEnd(model: Streams, input = 'hi', options: { signal?: AbortSignal } = {}): Promise<CollectedStream> {
  return (async () => collectChunks(await model.stream(input, options)))();
}

/** Retry and timeout settings that keep failure tests fast: 2 retries 5-50 ms apart, 500 ms for headers, 300 ms idle. */
export const FAST_TEST_TIMINGS = { timeoutMs: 500, idleTimeoutMs: 300, retryBaseMs: 5, retryMaxMs: 50, maxRetries: 2 } as const;

/** A place_order tool with the agent's core arguments, for binding in provider tests. */
export function placeOrderTool(): StructuredToolInterface {
  return tool(async () => 'ok', {
    name: 'place_order',
    description: 'Publishes an order intent',
    schema: z.object({ side: z.enum(['buy', 'sell']), size: z.number() }),
  });
}
