import { llmConfigFields } from '@kokex/llm-common';
import { z } from 'zod';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The `anthropic` adapter's configuration (strict); the key is ANTHROPIC_API_KEY or the secrets file. */
export const anthropicConfigSchema = z
  .object({
    ...llmConfigFields('claude-sonnet-4-5', 'ANTHROPIC_API_KEY'),
  })
  .strict();
export type AnthropicConfig = z.output<typeof anthropicConfigSchema>;
export type AnthropicOptions = z.input<typeof anthropicConfigSchema>;
