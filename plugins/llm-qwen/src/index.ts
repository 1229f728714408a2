// Public face of @kokex/plugin-llm-qwen. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { dashScopeAdapter } from './adapter.js';

export { createDashScopeChatModel, DASHSCOPE_PROVIDER, dashScopeAdapter } from './adapter.js';
export { DASHSCOPE_BASE_URLS, dashScopeConfigSchema } from './config.js';
export { DASHSCOPE_PRICES } from './prices.js';

export type { DashScopeConfig, DashScopeOptions, DashScopeRegion } from './config.js';

/** The plugin: the `llm` adapter named `dashscope` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-llm-qwen', version: '0.1.0', adapters: [dashScopeAdapter] });
