// Public face of @kokex/plugin-llm-openai. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { openAiAdapter } from './adapter.js';

export { createOpenAiChatModel, OPENAI_PROVIDER, openAiAdapter } from './adapter.js';
export { isOpenAiEndpoint, OPENAI_BASE_URL, openAiConfigSchema } from './config.js';
export { OPENAI_PRICES } from './prices.js';

export type { OpenAiConfig, OpenAiOptions } from './config.js';

/** The plugin: the `llm` adapter named `openai` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-llm-openai', version: '0.1.0', adapters: [openAiAdapter] });
