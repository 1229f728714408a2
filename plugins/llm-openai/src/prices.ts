import type { PriceTable } from '@kokex/llm-common';

/**
 * OpenAI list prices, USD per million tokens (standard tier, as published in 2025). Dated model
 * ids are priced by their prefix. They change: override or add entries with the `prices` config
 * field. Used only against api.openai.com; another server's models cost 0 unless `prices` names them.
 */
export const OPENAI_PRICES: PriceTable = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
};
