// Public face of @kokex/plugin-llm-anthropic. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { anthropicAdapter } from './model.js';

export { ANTHROPIC_BASE_URL, anthropicConfigSchema } from './config.js';
export { ANTHROPIC_PROVIDER, anthropicAdapter, createAnthropicChatModel, KokexChatAnthropic } from './model.js';
export { ANTHROPIC_PRICES } from './prices.js';
export { anthropicStreamProtocol } from './protocol.js';

export type { AnthropicConfig, AnthropicOptions } from './config.js';

/** The plugin: the `llm` adapter named `anthropic` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-llm-anthropic', version: '0.1.0', adapters: [anthropicAdapter] });
