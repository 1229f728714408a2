import { z } from 'zod';

/** Where `binance` in sim mode looks for the simulator unless told otherwise. */
export const BINANCE_SIM_DEFAULT_PORT = 18090;

/**
 * Which Binance the adapter talks to. `sim`: the local simulator (`@kokex/plugin-binance-sim`);
 * `paper`: Binance's live public market data, no trading (paper plans trade on `execution:paper`);
 * `demo`: Binance Demo Trading (the old futures testnet: demo-fapi / demo-fstream, its own keys);
 * `live`: real money.
 */
export const BINANCE_ADAPTER_MODES = ['sim', 'paper', 'demo', 'live'] as const;
export type BinanceAdapterMode = (typeof BINANCE_ADAPTER_MODES)[number];

/** Production and demo hosts (reference §1). The WS roots are `/market` and `/private` under the stream host. */
export const BINANCE_URLS = {
  live: { rest: 'https://fapi.binance.com', ws: 'wss://fstream.binance.com' },
  demo: { rest: 'https://demo-fapi.binance.com', ws: 'wss://demo-fstream.binance.com' },
} as const;

/**
 * The adapter's configuration as plans and actors give it. There is no key field on purpose:
 * keys come only from the environment (BINANCE_API_KEY, BINANCE_API_SECRET), so they never sit
 * in a plan, a KV entry or a log line. In sim mode the simulator's default key is used when the
 * environment has none.
 */
export const binanceAdapterConfigSchema = z
  .object({
    mode: z.enum(BINANCE_ADAPTER_MODES),
    simHost: z.string().min(1).default('127.0.0.1'),
    simPort: z.number().int().min(1).max(65_535).default(BINANCE_SIM_DEFAULT_PORT),
    /** REST base URL; default by mode. */
    restUrl: z.string().url().optional(),
    /** WebSocket host (the `/market` and `/private` roots are appended); default by mode. */
    wsUrl: z.string().url().optional(),
    /** Signed requests are valid this long after their timestamp (ms, ≤ 60,000). Default 5,000. */
    recvWindow: z.number().int().positive().max(60_000).default(5000),
    http: z
      .object({
        timeoutMs: z.number().int().positive().default(10_000),
        /** Retries of idempotent requests (reads, cancels) and of requests refused before they ran. Default 3. */
        maxRetries: z.number().int().min(0).max(10).default(3),
        retryDelayMs: z.number().int().min(0).default(250),
        /** The longest single back-off, Retry-After included (ms). Default 60,000. */
        maxRetryDelayMs: z.number().int().positive().default(60_000),
        /** REQUEST_WEIGHT per minute the client keeps under (exchangeInfo's value replaces it). Default 2400. */
        weightPerMinute: z.number().int().positive().default(2400),
      })
      .strict()
      .default({}),
    ws: z
      .object({
        reconnectInitialDelayMs: z.number().int().min(0).default(250),
        reconnectMaxDelayMs: z.number().int().positive().default(30_000),
        /** PUT /listenKey this often (ms). Default 30 min (a key lives 60). */
        keepaliveMs: z.number().int().positive().default(1_800_000),
        /** Connection timeout (ms). Default 10,000. */
        connectTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({}),
    /** exchangeInfo is cached this long (ms). Default 60,000. */
    instrumentsTtlMs: z.number().int().min(0).default(60_000),
  })
  .strict();
export type BinanceAdapterOptions = z.input<typeof binanceAdapterConfigSchema>;
export type BinanceAdapterConfig = z.output<typeof binanceAdapterConfigSchema>;

export interface BinanceCredentials {
  apiKey: string;
  secretKey: string;
}

/** The simulator's default key: what sim mode uses when the environment holds none (it reaches only localhost). */
export const BINANCE_SIM_CREDENTIALS: Readonly<BinanceCredentials> = Object.freeze({ apiKey: 'sim-key', secretKey: 'sim-secret' });

export function credentialsFromEnv(env: Record<string, string | undefined>): BinanceCredentials | undefined {
  const apiKey = env.BINANCE_API_KEY;
  const secretKey = env.BINANCE_API_SECRET;
  return apiKey && secretKey ? { apiKey, secretKey } : undefined;
}

/** REST base and WS host of a configuration. */
export function binanceUrls(config: BinanceAdapterConfig): { rest: string; ws: string } {
  if (config.mode === 'sim') {
    const at = `${config.simHost}:${config.simPort}`;
    return { rest: config.restUrl ?? `http://${at}`, ws: config.wsUrl ?? `ws://${at}` };
  }
  const base = config.mode === 'demo' ? BINANCE_URLS.demo : BINANCE_URLS.live;
  return { rest: config.restUrl ?? base.rest, ws: config.wsUrl ?? base.ws };
}

/** KOKEX timeframes (OKX bar names) → Binance kline intervals; Binance bars are UTC-aligned. */
export const BINANCE_INTERVALS: Readonly<Record<string, string>> = Object.freeze({
  '1m': '1m',
  '3m': '3m',
  '5m': '5m',
  '15m': '15m',
  '30m': '30m',
  '1H': '1h',
  '2H': '2h',
  '4H': '4h',
  '6Hutc': '6h',
  '12Hutc': '12h',
  '1Dutc': '1d',
  '3Dutc': '3d',
  '1Wutc': '1w',
  '1Mutc': '1M',
});
