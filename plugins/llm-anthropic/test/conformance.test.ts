import { llmConformance } from '@kokex/core/testing';
import { FAST_TEST_TIMINGS, scriptedProviderSuite } from '@kokex/llm-common/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createAnthropicChatModel } from '../src/index.js';
import { errorBody, textEvents, toolUseEvents } from './messages.js';

// The LLM-adapter conformance suite from @kokex/core/testing, against a local HTTP peer speaking
// the Messages protocol (the scripted server of @kokex/llm-common/testing).
const KEY_ENV = 'KOKEX_TEST_ANTHROPIC_CONFORMANCE_KEY';
const KEY = 'sk-ant-conformance-0123456789abcdef';
// Fast retries, but patient timeouts: no case here is about a timeout, and a loaded machine can
// take over 500 ms to answer the first request.
const TIMINGS = { ...FAST_TEST_TIMINGS, timeoutMs: 15_000, idleTimeoutMs: 15_000 };
const suite = scriptedProviderSuite(KEY_ENV, KEY);

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
};

llmConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'anthropic (Messages)',
    async setup() {
      await suite.start();
      const model = await createAnthropicChatModel({ baseUrl: suite.server.url, apiKeyEnv: KEY_ENV, ...TIMINGS, maxTokens: 256 });
      return {
        model,
        key: KEY,
        maxRetries: FAST_TEST_TIMINGS.maxRetries,
        peer: {
          answer: (pieces, u) => suite.server.reply({ sse: textEvents(pieces, { input: u.inputTokens, output: u.outputTokens }) }),
          toolCall: (call, u) =>
            suite.server.reply({
              sse: toolUseEvents('', { id: call.id, name: call.name, input: call.args }, { input: u.inputTokens, output: u.outputTokens }),
            }),
          fail: (status, times, echo) => {
            for (let i = 0; i < times; i++) {
              suite.server.reply({
                status,
                headers: { 'retry-after': '0' },
                json: errorBody(ERROR_TYPES[status] ?? 'api_error', echo ? `invalid x-api-key ${echo}` : `refused with ${status}`),
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
