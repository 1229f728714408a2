import { llmConformance } from '@kokex/core/testing';
import { FAST_TEST_TIMINGS, scriptedProviderSuite, textStream, toolCallStream } from '@kokex/llm-common/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createOpenAiChatModel } from '../src/index.js';

// The LLM-adapter conformance suite from @kokex/core/testing, against a local HTTP peer speaking
// Chat Completions (the scripted server of @kokex/llm-common/testing).
const KEY_ENV = 'KOKEX_TEST_OPENAI_CONFORMANCE_KEY';
const KEY = 'sk-test-conformance-openai-0123456789';
// Fast retries, but patient timeouts: no case here is about a timeout, and a loaded machine can
// take over 500 ms to answer the first request.
const TIMINGS = { ...FAST_TEST_TIMINGS, timeoutMs: 15_000, idleTimeoutMs: 15_000 };
const suite = scriptedProviderSuite(KEY_ENV, KEY);

llmConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'openai (Chat Completions)',
    async setup() {
      await suite.start();
      const model = await createOpenAiChatModel({
        baseUrl: `${suite.server.url}/v1`,
        apiKeyEnv: KEY_ENV,
        requireKey: true,
        ...TIMINGS,
      });
      return {
        model,
        key: KEY,
        maxRetries: FAST_TEST_TIMINGS.maxRetries,
        peer: {
          answer: (pieces, u) => suite.server.reply({ sse: textStream(pieces, { prompt: u.inputTokens, completion: u.outputTokens }) }),
          toolCall: (call, u) =>
            suite.server.reply({ sse: toolCallStream([call], 3, { prompt: u.inputTokens, completion: u.outputTokens }) }),
          fail: (status, times, echo) => {
            for (let i = 0; i < times; i++) {
              suite.server.reply({
                status,
                headers: { 'retry-after-ms': '1' },
                json: {
                  error: {
                    message: echo ? `Incorrect API key provided: ${echo}.` : `refused with ${status}`,
                    code: status === 401 ? 'invalid_api_key' : null,
                  },
                },
              });
            }
          },
          requests: () => suite.server.requests,
          reset: suite.reset,
        },
      };
    },
    teardown: () => suite.stop(),
  },
);
