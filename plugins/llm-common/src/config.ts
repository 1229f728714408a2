import { z } from 'zod';
import { modelPriceSchema } from './usage.js';

/**
 * Configuration every provider accepts: core's `LlmAdapterConfig` fields plus key lookup, retry
 * and timeout settings and price overrides. Each provider spreads these into its own strict
 * schema with its defaults (`llmConfigFields('gpt-4o-mini', 'OPENAI_API_KEY')`). No field holds a
 * key: config is logged and cached by value.
 */
export function llmConfigFields(defaultModel: string, defaultKeyEnv: string) {
  return {
    model: z.string().min(1).default(defaultModel).describe(`The provider's model id. Default ${defaultModel}.`),
    temperature: z.number().min(0).max(2).optional().describe("Sampling temperature. Default: the provider's."),
    maxTokens: z.number().int().positive().optional().describe("Completion tokens per call. Default: the provider's."),
    baseUrl: z.string().url().optional().describe("The provider's endpoint; an OpenAI-compatible server or a local test server."),
    timeoutMs: z.number().int().positive().default(60_000).describe('Longest wait for response headers, per attempt. Default 60 s.'),
    idleTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Longest gap between two pieces of a stream or body. Default 30 s.'),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe('Retries on 408, 429, 5xx, timeouts and connection failures. Default 3.'),
    retryBaseMs: z.number().int().positive().default(500).describe('First backoff delay; doubles per retry, with jitter. Default 500 ms.'),
    retryMaxMs: z
      .number()
      .int()
      .positive()
      .default(20_000)
      .describe('Cap on one backoff delay; a Retry-After beyond it fails at once (LLM_RATE_LIMITED). Default 20 s.'),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default(defaultKeyEnv)
      .describe(`Environment variable holding the API key. Default ${defaultKeyEnv}.`),
    secretsFile: z
      .string()
      .min(1)
      .optional()
      .describe('A file with the key (the key alone, NAME=value lines or JSON). Default: $KOKEX_SECRETS_FILE.'),
    prices: z
      .record(modelPriceSchema)
      .optional()
      .describe("USD per million tokens by model id or prefix; replaces the built-in table's entries it names."),
  };
}

/** The validated common fields, as each provider's config type includes them. */
export interface LlmCommonConfig {
  model: string;
  temperature?: number;
  maxTokens?: number;
  baseUrl?: string;
  timeoutMs: number;
  idleTimeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  apiKeyEnv: string;
  secretsFile?: string;
  prices?: Record<string, { input: number; output: number }>;
}

/**
 * The SDK's own timeout spans all our attempts (our fetch retries inside one SDK request), so it
 * is set past the longest our retry loop can take and never fires first.
 */
export function sdkTimeoutMs(config: LlmCommonConfig): number {
  return (config.maxRetries + 1) * (config.timeoutMs + config.retryMaxMs) + 1000;
}
