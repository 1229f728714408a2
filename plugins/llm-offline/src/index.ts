// Public face of @kokex/plugin-llm-offline. Explicit exports only: values first, then types.
import { type AdapterDefinition, definePlugin } from '@kokex/core';
import { type OfflinePolicyOptions, offlinePolicyConfigSchema } from './config.js';
import { OFFLINE_POLICY_PROVIDER, OfflineRulePolicy } from './model.js';

export { offlinePolicyConfigSchema } from './config.js';
export { forecastFieldsSchema, forecastFrom, latestResult, positionFrom, readConversation } from './conversation.js';
export { OFFLINE_POLICY_PROVIDER, OfflineRulePolicy } from './model.js';
export { decideNextStep, PolicyRule, planOrder } from './rules.js';

export type { OfflinePolicyConfig, OfflinePolicyOptions } from './config.js';
export type { ConversationState, ForecastFields, ToolOutcome } from './conversation.js';
export type { OfflinePolicyCallOptions } from './model.js';
export type { PlannedOrder, PolicyDecision, PolicyStep } from './rules.js';

/** `{port: 'llm', name: 'offline-policy'}`: the rule policy, resolved like any chat model. */
export const offlinePolicyAdapter: AdapterDefinition<OfflineRulePolicy> = {
  port: 'llm',
  name: OFFLINE_POLICY_PROVIDER,
  description: 'A deterministic rule policy on forecast P(up) and skill (not an LLM; no network, no key)',
  configSchema: offlinePolicyConfigSchema,
  create: (config) => new OfflineRulePolicy(config as OfflinePolicyOptions),
};

/** The plugin: the `llm` adapter named `offline-policy` (manifest in package.json). */
export default definePlugin({ name: '@kokex/plugin-llm-offline', version: '0.1.0', adapters: [offlinePolicyAdapter] });
