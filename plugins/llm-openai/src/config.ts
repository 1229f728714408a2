import { type LlmCommonConfig, llmConfigFields } from '@kokex/llm-common';
import { z } from 'zod';

/** OpenAI's endpoint; any other `baseUrl` is an OpenAI-compatible server (vLLM, Ollama, llama.cpp). */
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * The `openai` adapter's configuration (strict). With no `baseUrl` it talks to OpenAI and needs
 * OPENAI_API_KEY; with a `baseUrl` of another server the key is optional (local servers take none).
 */
export const openAiConfigSchema = z
  .object({
    ...llmConfigFields('gpt-4o-mini', 'OPENAI_API_KEY'),
    streamUsage: z
      .boolean()
      .default(true)
      .describe('Ask for token usage at the end of a stream (stream_options.include_usage). Turn off for servers that refuse it.'),
    requireKey: z.boolean().optional().describe('Whether a missing key is an error. Default: true for OpenAI, false for another baseUrl.'),
  })
  .strict();
export type OpenAiConfig = z.output<typeof openAiConfigSchema>;
export type OpenAiOptions = z.input<typeof openAiConfigSchema>;

/** True when the config points at OpenAI itself rather than a compatible server. */
export function isOpenAiEndpoint(config: Pick<LlmCommonConfig, 'baseUrl'>): boolean {
  if (!config.baseUrl) return true;
  return new URL(config.baseUrl).hostname === 'api.openai.com';
}
