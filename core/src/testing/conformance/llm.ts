import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { createLogger } from '../../log/logger.js';
import type { ChatModel } from '../../ports/llm.js';
import type { ConformanceRunner } from './exchange.js';

/**
 * The LLM-adapter conformance suite: what every `llm` adapter (OpenAI, Anthropic, DashScope, a
 * third party's) must do the same way for the agent's tool loop to work unchanged on it: stream
 * tokens in order, assemble a streamed tool call, report token usage, retry what is retryable and
 * nothing else, fail with a coded error that says whether a retry could help, and never show its
 * key. Like `exchangeConformance`, it registers cases with the runner it is given:
 *
 * ```ts
 * import { afterAll, beforeAll, describe, it } from 'vitest';
 * llmConformance({ describe, it, beforeAll, afterAll }, { name: 'openai', setup });
 * ```
 *
 * `setup` creates the model against a local HTTP peer speaking the provider's protocol (a
 * scripted server) and says how to script that peer; the suite itself knows no protocol.
 */

export interface LlmConformanceUsage {
  inputTokens: number;
  outputTokens: number;
}

/** The provider's side, scripted in its own protocol by the adapter's test. */
export interface LlmConformancePeer {
  /** The next call streams these text pieces in order, then reports `usage`. */
  answer(pieces: string[], usage: LlmConformanceUsage): void;
  /** The next call streams one tool call (its arguments in several pieces), then reports `usage`. */
  toolCall(call: { id: string; name: string; args: Record<string, unknown> }, usage: LlmConformanceUsage): void;
  /**
   * The next `times` calls fail with this HTTP status and the provider's error body; `echo`, when
   * given, is quoted in that body's message (as a provider quoting a wrong key does).
   */
  fail(status: number, times: number, echo?: string): void;
  /** Requests the peer received since the last `reset()`: their headers, for the key check. */
  requests(): Array<{ headers: Record<string, unknown> }>;
  /** Forgets recorded requests and drops replies not yet used. */
  reset(): void;
}

export interface LlmConformanceSubject {
  /** The adapter's model, pointed at the peer, with short retry delays. */
  model: ChatModel;
  peer: LlmConformancePeer;
  /** Retries the model makes after a retryable failure (so a call is tried 1 + maxRetries times). */
  maxRetries: number;
  /** The key the model was given (through its environment): sent to the peer, never shown. */
  key: string;
}

export interface LlmConformanceOptions {
  name: string;
  setup(): Promise<LlmConformanceSubject> | LlmConformanceSubject;
  teardown?(): Promise<void> | void;
  /** Per-case timeout (ms). Default 30 s. */
  timeoutMs?: number;
}

/**
 * The LangChain custom event a provider reports each call's usage with (`LlmUsage`); the agent
 * counts it, and falls back to the streamed message's `usage_metadata` when a provider sends none.
 */
const LLM_USAGE_EVENT = 'kokex.llm.usage';

/** What the suite reads from a failure: a KOKEX-style error (`code`, `retryable`, `data`). */
interface CodedFailure {
  message: string;
  code: unknown;
  retryable: unknown;
  data?: unknown;
}

async function collect(stream: AsyncIterable<AIMessageChunk>): Promise<{ tokens: string[]; message: AIMessageChunk }> {
  const tokens: string[] = [];
  let message: AIMessageChunk | undefined;
  for await (const chunk of stream) {
    if (typeof chunk.content === 'string' && chunk.content) tokens.push(chunk.content);
    for (const block of Array.isArray(chunk.content) ? chunk.content : []) {
      if (typeof block === 'object' && block.type === 'text' && typeof block.text === 'string' && block.text) tokens.push(block.text);
    }
    message = message ? message.concat(chunk) : chunk;
  }
  assert.ok(message, 'the stream yielded no chunks');
  return { tokens, message };
}

/** Streams `input` to the end (`stream()` already waits for the first chunk, so it sits inside). */
function streamToEnd(model: { stream(input: string): Promise<AsyncIterable<AIMessageChunk>> }, input = 'hi') {
  return (async () => collect(await model.stream(input)))();
}

async function failureOf(p: Promise<unknown>): Promise<CodedFailure> {
  try {
    await p;
  } catch (err) {
    return err as CodedFailure;
  }
  assert.fail('expected the call to fail, it succeeded');
}

function assertCoded(err: CodedFailure, retryable: boolean, what: string): void {
  assert.equal(typeof err.code, 'string', `${what}: the error has a stable code (got ${String(err.code)}: ${err.message})`);
  assert.equal(err.retryable, retryable, `${what}: ${err.code} should say retryable: ${retryable}`);
}

const placeOrder = tool(async () => 'ok', {
  name: 'place_order',
  description: 'Publishes an order intent',
  schema: z.object({ side: z.enum(['buy', 'sell']), size: z.number() }),
});

export function llmConformance(runner: ConformanceRunner, options: LlmConformanceOptions): void {
  const { describe, it, beforeAll, afterAll } = runner;
  const timeout = options.timeoutMs ?? 30_000;
  let subject: LlmConformanceSubject | undefined;
  const s = (): LlmConformanceSubject => {
    assert.ok(subject, 'llmConformance: setup() has not run');
    subject.peer.reset();
    return subject;
  };

  describe(`llm conformance: ${options.name}`, () => {
    beforeAll(async () => {
      subject = await options.setup();
    }, timeout);
    afterAll(async () => {
      await options.teardown?.();
    }, timeout);

    it(
      'streams tokens in arrival order, and the chunks add up to the answer',
      async () => {
        const { model, peer } = s();
        const pieces = ['The ', 'forecast ', 'is ', 'weak.'];
        peer.answer(pieces, { inputTokens: 50, outputTokens: 4 });
        const { tokens, message } = await streamToEnd(model);
        assert.deepEqual(tokens, pieces);
        assert.equal(typeof message.content === 'string' ? message.content : tokens.join(''), pieces.join(''));
      },
      timeout,
    );

    it(
      'reports the token usage of a streamed call as the agent reads it',
      async () => {
        const { model, peer } = s();
        peer.answer(['ok'], { inputTokens: 321, outputTokens: 7 });
        const reported: Array<{ inputTokens?: number; outputTokens?: number }> = [];
        const callbacks = [
          BaseCallbackHandler.fromMethods({
            handleCustomEvent(name: string, data: unknown) {
              if (name === LLM_USAGE_EVENT) reported.push(data as { inputTokens?: number; outputTokens?: number });
            },
          }),
        ];
        const { message } = await collect(await model.stream('hi', { callbacks }));
        // The agent sums the usage events; without any, it reads the aggregated usage_metadata.
        const seen = reported.length
          ? reported.reduce((a, u) => ({ input: a.input + (u.inputTokens ?? 0), output: a.output + (u.outputTokens ?? 0) }), {
              input: 0,
              output: 0,
            })
          : { input: message.usage_metadata?.input_tokens, output: message.usage_metadata?.output_tokens };
        assert.deepEqual(seen, { input: 321, output: 7 }, reported.length ? 'usage events' : 'usage_metadata');
      },
      timeout,
    );

    it(
      'assembles a tool call streamed in pieces into one call with its arguments',
      async () => {
        const { model, peer } = s();
        assert.ok(model.bindTools, 'the model supports bindTools');
        const args = { side: 'buy', size: 0.01 };
        peer.toolCall({ id: 'call_conformance_1', name: 'place_order', args }, { inputTokens: 80, outputTokens: 12 });
        const { message } = await streamToEnd(model.bindTools([placeOrder]) as unknown as ChatModel);
        assert.equal(message.tool_calls?.length, 1, `one tool call (got ${JSON.stringify(message.tool_calls)})`);
        assert.equal(message.tool_calls?.[0]?.name, 'place_order');
        assert.equal(message.tool_calls?.[0]?.id, 'call_conformance_1');
        assert.deepEqual(message.tool_calls?.[0]?.args, args);
      },
      timeout,
    );

    it(
      'retries a rate limit (429) and a server error (503), then answers',
      async () => {
        const { model, peer, maxRetries } = s();
        assert.ok(maxRetries >= 1, 'the subject retries at least once');
        peer.fail(429, 1);
        if (maxRetries >= 2) peer.fail(503, 1);
        peer.answer(['fine'], { inputTokens: 1, outputTokens: 1 });
        const { tokens } = await streamToEnd(model);
        assert.deepEqual(tokens, ['fine']);
        assert.equal(peer.requests().length, maxRetries >= 2 ? 3 : 2);
      },
      timeout,
    );

    it(
      'gives up after its retries with a retryable coded error',
      async () => {
        const { model, peer, maxRetries } = s();
        peer.fail(500, maxRetries + 1);
        const err = await failureOf(streamToEnd(model));
        assertCoded(err, true, 'repeated 500');
        assert.equal(peer.requests().length, maxRetries + 1, 'tried once and retried maxRetries times');
      },
      timeout,
    );

    it(
      'does not retry a request the provider rejects (400) or a wrong key (401)',
      async () => {
        const { model, peer } = s();
        peer.fail(400, 1);
        assertCoded(await failureOf(streamToEnd(model)), false, '400');
        assert.equal(peer.requests().length, 1, 'a 400 is not sent again');
        peer.reset();
        peer.fail(401, 1);
        assertCoded(await failureOf(streamToEnd(model)), false, '401');
        assert.equal(peer.requests().length, 1, 'a 401 is not sent again');
      },
      timeout,
    );

    it(
      'sends its key to the provider and never shows it: not in errors, their data or logs',
      async () => {
        const { model, peer, key } = s();
        peer.answer(['ok'], { inputTokens: 1, outputTokens: 1 });
        await streamToEnd(model);
        const sent = peer.requests().flatMap((r) => Object.values(r.headers).map(String));
        assert.ok(
          sent.some((v) => v.includes(key)),
          'the key travels in a request header',
        );
        peer.reset();
        // A provider that quotes the wrong key back in its error body.
        peer.fail(401, 1, key);
        const err = await failureOf(streamToEnd(model));
        const shown = `${String(err)} ${err.message} ${JSON.stringify(err.data ?? {})} ${JSON.stringify(err)}`;
        assert.ok(!shown.includes(key), `the error shows the key: ${shown}`);
        const chunks: string[] = [];
        const log = createLogger({
          level: 'debug',
          destination: new Writable({
            write(chunk, _enc, cb) {
              chunks.push(String(chunk));
              cb();
            },
          }),
        });
        log.error({ err }, 'llm call failed');
        log.flush();
        await new Promise((r) => setTimeout(r, 20));
        assert.ok(chunks.join('').length > 0, 'the failure was logged');
        assert.ok(!chunks.join('').includes(key), 'the logged failure shows the key');
      },
      timeout,
    );
  });
}
