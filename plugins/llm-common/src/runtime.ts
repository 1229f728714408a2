import type { StreamProtocol } from './body.js';
import type { LlmCommonConfig } from './config.js';
import type { ModelIdentity } from './guard.js';
import { createProviderFetch, type RetryInfo } from './http.js';
import { type PriceTable, UsageMeter } from './usage.js';

/**
 * What a provider plugin builds once per adapter instance from its validated config: the fetch it
 * hands the SDK, and the identity the call guard prices and reports under.
 */
export interface ProviderRuntime {
  identity: ModelIdentity;
  fetch: typeof fetch;
  meter: UsageMeter;
}

export interface ProviderRuntimeOptions {
  provider: string;
  config: LlmCommonConfig;
  protocol: StreamProtocol;
  /** The provider's built-in price table; `config.prices` entries replace its entries. */
  prices: PriceTable;
  /** The key, for scrubbing; undefined for a keyless local server. */
  apiKey: string | undefined;
  onRetry?: (info: RetryInfo) => void;
  /** Default: Math.random. */
  random?: () => number;
}

export function providerRuntime(o: ProviderRuntimeOptions): ProviderRuntime {
  const meter = new UsageMeter();
  const secrets = () => (o.apiKey ? [o.apiKey] : []);
  const identity: ModelIdentity = {
    provider: o.provider,
    model: o.config.model,
    prices: { ...o.prices, ...(o.config.prices ?? {}) },
    meter,
    secrets,
  };
  const fetch = createProviderFetch({
    provider: o.provider,
    model: o.config.model,
    protocol: o.protocol,
    maxRetries: o.config.maxRetries,
    timeoutMs: o.config.timeoutMs,
    idleTimeoutMs: o.config.idleTimeoutMs,
    retryBaseMs: o.config.retryBaseMs,
    retryMaxMs: o.config.retryMaxMs,
    secrets,
    onRetry: o.onRetry,
    random: o.random,
  });
  return { identity, fetch, meter };
}
