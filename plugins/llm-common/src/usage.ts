import type { LlmUsage } from '@kokex/core';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { z } from 'zod';

/**
 * Token and cost accounting. Every provider model reports each call's `LlmUsage` three ways: to
 * the callbacks of that call as the custom event `kokex.llm.usage` (so the agent attributes it to a
 * plan and conversation even when several plans share one cached model), to the model's own
 * `UsageMeter` (totals since it was created), and as LangChain's `usage_metadata` on the message.
 */
export const LLM_USAGE_EVENT = 'kokex.llm.usage';

/** USD per million tokens. */
export const modelPriceSchema = z
  .object({
    input: z.number().nonnegative().describe('USD per million prompt tokens.'),
    output: z.number().nonnegative().describe('USD per million completion tokens.'),
  })
  .strict();
export type ModelPrice = z.infer<typeof modelPriceSchema>;

/** Prices by model id or model id prefix (`gpt-4o` prices `gpt-4o-2024-08-06`; the longest prefix wins). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The price of a model: an exact entry, else the longest entry that prefixes the id; undefined when none. */
export function priceFor(table: PriceTable, model: string): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : table[best];
}

/** USD for a call; 0 when the model has no price (a local server, an unknown model). */
export function costUsd(table: PriceTable, model: string, inputTokens: number, outputTokens: number): number {
  const price = priceFor(table, model);
  if (!price) return 0;
  // Rounded to a millionth of a cent so sums of many calls stay exact in JSON.
  return Math.round((inputTokens * price.input + outputTokens * price.output) * 1e2) / 1e8;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Running totals of one model instance, and listeners for each call's usage. */
export class UsageMeter {
  #totals: UsageTotals = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  #listeners = new Set<(usage: LlmUsage) => void>();

  record(usage: LlmUsage): void {
    this.#totals = {
      calls: this.#totals.calls + 1,
      inputTokens: this.#totals.inputTokens + usage.inputTokens,
      outputTokens: this.#totals.outputTokens + usage.outputTokens,
      costUsd: Math.round((this.#totals.costUsd + usage.costUsd) * 1e8) / 1e8,
    };
    for (const listener of this.#listeners) listener(usage);
  }

  totals(): UsageTotals {
    return { ...this.#totals };
  }

  /** Calls `listener` with each call's usage; returns the function that stops it. */
  onUsage(listener: (usage: LlmUsage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** True when `data` is an `LlmUsage` (the payload of a `kokex.llm.usage` event). */
export function isLlmUsage(data: unknown): data is LlmUsage {
  const d = data as Partial<LlmUsage> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.provider === 'string' &&
    typeof d.model === 'string' &&
    typeof d.inputTokens === 'number' &&
    typeof d.outputTokens === 'number' &&
    typeof d.costUsd === 'number'
  );
}

/**
 * A callback handler that hands each call's usage to `onUsage`; pass it in the call's `callbacks`:
 * `model.invoke(messages, {callbacks: [usageCallback((u) => totals.add(plan, u))]})`.
 */
export function usageCallback(onUsage: (usage: LlmUsage) => void): BaseCallbackHandler {
  return BaseCallbackHandler.fromMethods({
    handleCustomEvent(eventName: string, data: unknown) {
      if (eventName === LLM_USAGE_EVENT && isLlmUsage(data)) onUsage(data);
    },
  });
}
