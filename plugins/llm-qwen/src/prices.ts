import type { PriceTable } from '@kokex/llm-common';

/**
 * DashScope international list prices, USD per million tokens (2025, the lowest input tier of
 * tiered models). The mainland site bills in CNY: set `prices` in config for it, or for any model
 * not listed here.
 */
export const DASHSCOPE_PRICES: PriceTable = {
  'qwen-max': { input: 1.6, output: 6.4 },
  'qwen-plus': { input: 0.4, output: 1.2 },
  'qwen-turbo': { input: 0.05, output: 0.2 },
  'qwen-flash': { input: 0.05, output: 0.4 },
  'qwen3-max': { input: 1.2, output: 6 },
  'qwen3-coder-plus': { input: 1, output: 5 },
};
