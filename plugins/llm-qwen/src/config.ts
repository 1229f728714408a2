import { llmConfigFields } from '@kokex/llm-common';
import { z } from 'zod';

/** DashScope's OpenAI-compatible endpoints by region (Alibaba Cloud Model Studio). */
export const DASHSCOPE_BASE_URLS = {
  /** Singapore, the international site. */
  intl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',
  /** Beijing, the mainland China site. */
  cn: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
} as const;
export type DashScopeRegion = keyof typeof DASHSCOPE_BASE_URLS;

/** The `dashscope` adapter's configuration (strict); the key is DASHSCOPE_API_KEY or the secrets file. */
export const dashScopeConfigSchema = z
  .object({
    ...llmConfigFields('qwen-plus', 'DASHSCOPE_API_KEY'),
    region: z
      .enum(['intl', 'cn'])
      .default('intl')
      .describe('Which DashScope site: intl (Singapore) or cn (Beijing). Keys are per site. Ignored when baseUrl is set.'),
    enableThinking: z.boolean().optional().describe("Qwen3 thinking mode (DashScope's enable_thinking). Absent: the model's default."),
    streamUsage: z.boolean().default(true).describe('Ask for token usage at the end of a stream.'),
  })
  .strict();
export type DashScopeConfig = z.output<typeof dashScopeConfigSchema>;
export type DashScopeOptions = z.input<typeof dashScopeConfigSchema>;
