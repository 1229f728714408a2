import { z } from 'zod';
import { OkxRegion, OkxWsEndpoint } from './common/enums.js';
import { okxRestBaseUrl, okxWsUrl } from './common/urls.js';
import { OkxConfigError } from './errors.js';
import type { OkxRestClientOptions } from './http/client.js';
import type { OkxWsClientOptions } from './websocket/client.js';

/**
 * Adapter configuration. Every field has a default, so `{}` is valid. Hosts, ports and the demo
 * flag are configuration because the sources disagree (`:8443`, `openapi.okx.com`).
 */
export const okxConfigSchema = z
  .object({
    region: z.nativeEnum(OkxRegion).default(OkxRegion.Global),
    /** Demo trading: `x-simulated-trading: 1` on REST, the `wspap` hosts on WebSocket. Default true. */
    demo: z.boolean().default(true),
    /** REST base URL; default from region (`https://www.okx.com`). */
    restUrl: z.string().url().optional(),
    /** WebSocket URLs per endpoint; default from region, demo and `wsHost`/`wsPort`. */
    wsUrls: z
      .object({ public: z.string().url().optional(), private: z.string().url().optional(), business: z.string().url().optional() })
      .default({}),
    wsHost: z.string().min(1).optional(),
    /** Set 8443 where the old port is still required; default none (443). */
    wsPort: z.number().int().positive().max(65_535).optional(),
    credentials: z.object({ apiKey: z.string().min(1), secretKey: z.string().min(1), passphrase: z.string().min(1) }).optional(),
    http: z
      .object({
        timeoutMs: z.number().int().positive().default(10_000),
        maxRetries: z.number().int().min(0).max(10).default(2),
        retryDelayMs: z.number().int().min(0).default(250),
        rateLimit: z.boolean().default(true),
        /** Fraction of each OKX quota the client uses. */
        rateLimitSafetyFactor: z.number().gt(0).max(1).default(0.9),
      })
      .default({}),
    ws: z
      .object({
        pingIntervalMs: z.number().int().positive().max(29_000).default(20_000),
        pongTimeoutMs: z.number().int().positive().default(10_000),
        requestTimeoutMs: z.number().int().positive().default(10_000),
        reconnectInitialDelayMs: z.number().int().min(0).default(250),
        reconnectMaxDelayMs: z.number().int().positive().default(30_000),
        reconnectFactor: z.number().min(1).default(2),
        reconnectJitter: z.number().min(0).max(1).default(0.5),
        maxArgsPerConnection: z.number().int().positive().default(200),
        maxSubscribePayloadBytes: z.number().int().positive().max(65_536).default(65_536),
        dedupeOrders: z.boolean().default(true),
      })
      .default({}),
  })
  .strict();

export type OkxOptions = z.input<typeof okxConfigSchema>;
export type OkxConfig = Readonly<z.output<typeof okxConfigSchema>>;

/** Validates and freezes; throws OkxConfigError naming every bad field. */
export function resolveOkxConfig(options: OkxOptions = {}): OkxConfig {
  const parsed = okxConfigSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new OkxConfigError(`invalid OKX config: ${issues.join('; ')}`, { issues });
  }
  return Object.freeze(parsed.data);
}

export function restClientOptionsFromConfig(config: OkxConfig): OkxRestClientOptions {
  return {
    baseUrl: config.restUrl ?? okxRestBaseUrl({ region: config.region }),
    credentials: config.credentials,
    demo: config.demo,
    timeoutMs: config.http.timeoutMs,
    maxRetries: config.http.maxRetries,
    retryDelayMs: config.http.retryDelayMs,
    rateLimit: config.http.rateLimit ? { safetyFactor: config.http.rateLimitSafetyFactor } : false,
  };
}

export function wsClientOptionsFromConfig(config: OkxConfig): OkxWsClientOptions {
  const url = (endpoint: OkxWsEndpoint) =>
    config.wsUrls[endpoint] ?? okxWsUrl(endpoint, { region: config.region, demo: config.demo, host: config.wsHost, port: config.wsPort });
  return {
    urls: {
      [OkxWsEndpoint.Public]: url(OkxWsEndpoint.Public),
      [OkxWsEndpoint.Private]: url(OkxWsEndpoint.Private),
      [OkxWsEndpoint.Business]: url(OkxWsEndpoint.Business),
    },
    credentials: config.credentials,
    pingIntervalMs: config.ws.pingIntervalMs,
    pongTimeoutMs: config.ws.pongTimeoutMs,
    requestTimeoutMs: config.ws.requestTimeoutMs,
    reconnect: {
      initialDelayMs: config.ws.reconnectInitialDelayMs,
      maxDelayMs: config.ws.reconnectMaxDelayMs,
      factor: config.ws.reconnectFactor,
      jitter: config.ws.reconnectJitter,
    },
    maxArgsPerConnection: config.ws.maxArgsPerConnection,
    maxSubscribePayloadBytes: config.ws.maxSubscribePayloadBytes,
    dedupeOrders: config.ws.dedupeOrders,
  };
}
