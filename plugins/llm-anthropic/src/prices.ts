import type { PriceTable } from '@kokex/llm-common';

/**
 * Anthropic list prices, USD per million tokens (as published in 2025; cache writes and reads are
 * counted as input). Dated ids (`claude-sonnet-4-20250514`) are priced by prefix, the longest
 * winning. Override or add entries with the `prices` config field.
 */
export const ANTHROPIC_PRICES: PriceTable = {
  'claude-opus-4': { input: 15, output: 75 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
};
