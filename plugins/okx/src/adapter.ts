import {
  assertTimeframe,
  type Candle,
  type CandleQuery,
  type CandleStreamEvents,
  type InstrumentInfo,
  type MarketDataAdapter,
  nextBarOpen,
  type Subscription,
  type Ticker,
  timeframeMs,
} from '@kokex/core';
import { z } from 'zod';
import { credentialsFromEnv } from './common/credentials.js';
import { instTypeFromInstId } from './common/enums.js';
import { candleChannel } from './common/parse.js';
import { type OkxOptions, okxConfigSchema } from './config.js';
import { OkxError, OkxErrorCode, OkxInstrumentUnknownError } from './errors.js';
import { createOkxClients, type OkxClients } from './factories.js';
import { OKX_VENUE } from './types.js';
import type { OkxWsArg } from './websocket/messages.js';
import { argKey } from './websocket/subscriptions.js';

/** Where `npx kokex sim okx` and the okx-sim actor listen unless told otherwise. */
export const OKX_SIM_DEFAULT_PORT = 18080;
/** Bars of history `candleHistory` returns when the query names no start. */
const DEFAULT_HISTORY_BARS = 300;
/** Candles per page yielded by `candleHistory` (one OKX request's worth). */
const HISTORY_PAGE = 300;

/**
 * Which OKX the adapter talks to. `sim`: the local simulator (`simHost:simPort`, demo key rules);
 * `paper`: OKX's live public market data (paper fills happen elsewhere; nothing is traded here);
 * `demo`: OKX demo trading (`x-simulated-trading: 1`, the `wspap` hosts); `live`: real money.
 */
export const OKX_ADAPTER_MODES = ['sim', 'paper', 'demo', 'live'] as const;
export type OkxAdapterMode = (typeof OKX_ADAPTER_MODES)[number];

/**
 * The adapter's configuration as plans and actors give it: the mode plus the client settings of
 * `okxConfigSchema`. There is no credentials field on purpose: keys come only from the
 * environment (OKX_API_KEY, OKX_API_SECRET, OKX_API_PASSPHRASE), so they never sit in a plan, a
 * KV entry or a log line.
 */
export const okxAdapterConfigSchema = okxConfigSchema
  .omit({ demo: true, credentials: true })
  .extend({
    mode: z.enum(OKX_ADAPTER_MODES),
    simHost: z.string().min(1).default('127.0.0.1'),
    simPort: z.number().int().min(1).max(65_535).default(OKX_SIM_DEFAULT_PORT),
  })
  .strict();
export type OkxAdapterOptions = z.input<typeof okxAdapterConfigSchema>;
export type OkxAdapterConfig = z.output<typeof okxAdapterConfigSchema>;

/** Client options for a mode; in sim mode every URL points at the simulator unless set explicitly. */
export function okxOptionsForMode(config: OkxAdapterConfig, env: Record<string, string | undefined> = process.env): OkxOptions {
  const { mode, simHost, simPort, ...client } = config;
  const credentials = credentialsFromEnv(env);
  const options: OkxOptions = { ...client, demo: mode === 'demo' || mode === 'sim', ...(credentials ? { credentials } : {}) };
  if (mode !== 'sim') return options;
  const at = `${simHost}:${simPort}`;
  return {
    ...options,
    restUrl: client.restUrl ?? `http://${at}`,
    wsUrls: {
      public: client.wsUrls.public ?? `ws://${at}/ws/v5/public`,
      private: client.wsUrls.private ?? `ws://${at}/ws/v5/private`,
      business: client.wsUrls.business ?? `ws://${at}/ws/v5/business`,
    },
  };
}

/**
 * core's `MarketDataAdapter` on the OKX clients. Several subscriptions share the WebSocket client
 * (an arg is subscribed once and unsubscribed when its last user closes); every OKX shape is
 * mapped to core's types here, and nothing the venue sends is thrown into the caller's loop.
 */
export class OkxMarketDataAdapter implements MarketDataAdapter {
  readonly venue = OKX_VENUE;
  readonly #clients: OkxClients;
  /** Subscriptions holding each candle arg, by `argKey`. */
  readonly #argUsers = new Map<string, number>();

  constructor(
    clients: OkxClients,
    readonly mode: OkxAdapterMode,
  ) {
    this.#clients = clients;
  }

  get clients(): OkxClients {
    return this.#clients;
  }

  async subscribeCandles(keys: Array<{ inst: string; tf: string }>, events: CandleStreamEvents): Promise<Subscription> {
    const { ws } = this.#clients;
    const wanted = new Set(keys.map((k) => `${k.inst}|${k.tf}`));
    const args: OkxWsArg[] = keys.map((k) => ({ channel: candleChannel(assertTimeframe(k.tf)), instId: k.inst }));
    let established = false;
    const offs = [
      ws.on('candle', (c: Candle) => {
        if (wanted.has(`${c.inst}|${c.tf}`)) events.onCandle(c);
      }),
      ws.on('reconnected', () => events.onResubscribed?.()),
      // A first connect that only succeeded after the initial attempt failed is a resubscribe too.
      ws.on('connected', () => {
        if (established) events.onResubscribed?.();
      }),
      ws.on('error', (err) => events.onError?.(err)),
    ];
    const fresh = args.filter((a) => this.#hold(a) === 1);
    try {
      if (fresh.length > 0) await ws.subscribe(fresh);
    } catch (err) {
      if (err instanceof OkxError && err.code === OkxErrorCode.WsSubscribe) {
        // OKX refused an arg (unknown instrument, bar): that is configuration, not weather.
        for (const off of offs) off();
        await this.#release(args);
        throw err;
      }
      // The venue is unreachable: the args stay registered and are subscribed on the next connect.
      events.onError?.(err);
    }
    established = true;
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        for (const off of offs) off();
        await this.#release(args);
      },
    };
  }

  /**
   * Closed bars in [since, until), oldest first, in pages. Without `until` the range ends at the
   * venue's current bar, which is the venue's notion of now (the simulator's clock in sim mode);
   * without `since` it starts 300 bars before that end.
   */
  async *candleHistory(query: CandleQuery): AsyncIterable<Candle[]> {
    const tf = assertTimeframe(query.tf);
    const until = query.until ?? (await this.currentBarOpen(query.inst, tf));
    if (until === undefined) return;
    const since = query.since ?? until - DEFAULT_HISTORY_BARS * timeframeMs(tf);
    if (since >= until) return;
    let page: Candle[] = [];
    for await (const candle of this.#clients.rest.requestCandleHistory({ instId: query.inst, bar: tf, since, until })) {
      page.push(candle);
      if (page.length >= HISTORY_PAGE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  /**
   * Open of the venue's current bar of `tf`: its newest `/market/candles` row when that is still
   * forming, else the bar after it; undefined when the venue has no bars for the instrument.
   */
  async currentBarOpen(inst: string, tf: string): Promise<number | undefined> {
    const latest = (await this.#clients.rest.requestCandles(inst, tf, 1)).at(-1);
    if (!latest) return undefined;
    return latest.confirmed ? nextBarOpen(latest.ts, tf) : latest.ts;
  }

  async instrument(inst: string): Promise<InstrumentInfo> {
    const info = await this.#clients.rest.requestInstrument(instTypeFromInstId(inst), inst);
    if (!info) throw new OkxInstrumentUnknownError(inst);
    return {
      venue: OKX_VENUE,
      inst: info.instId,
      instType: info.instType,
      tickSize: info.tickSize,
      lotSize: info.lotSize,
      minSize: info.minSize,
      contractValue: info.contractValue ?? 1,
      baseCcy: info.baseCcy,
      quoteCcy: info.quoteCcy,
      state: info.state,
    };
  }

  async ticker(inst: string): Promise<Ticker> {
    const t = await this.#clients.rest.requestTicker(inst);
    return { inst: t.instId, last: t.last, bid: t.bidPrice, ask: t.askPrice, ts: t.ts };
  }

  async close(): Promise<void> {
    await this.#clients.ws.close();
  }

  /** Counts a user of the arg; returns how many hold it now. */
  #hold(arg: OkxWsArg): number {
    const n = (this.#argUsers.get(argKey(arg)) ?? 0) + 1;
    this.#argUsers.set(argKey(arg), n);
    return n;
  }

  /** Drops users; args nobody holds any more are unsubscribed. */
  async #release(args: OkxWsArg[]): Promise<void> {
    const gone: OkxWsArg[] = [];
    for (const arg of args) {
      const n = (this.#argUsers.get(argKey(arg)) ?? 1) - 1;
      if (n > 0) this.#argUsers.set(argKey(arg), n);
      else {
        this.#argUsers.delete(argKey(arg));
        gone.push(arg);
      }
    }
    // Best effort: a socket that is down has nothing to unsubscribe from.
    if (gone.length > 0) await this.#clients.ws.unsubscribe(gone).catch(() => undefined);
  }
}

/** Validates the configuration, reads credentials from the environment and builds the adapter. */
export function createOkxMarketDataAdapter(
  options: OkxAdapterOptions,
  env: Record<string, string | undefined> = process.env,
): OkxMarketDataAdapter {
  const config = okxAdapterConfigSchema.parse(options);
  return new OkxMarketDataAdapter(createOkxClients(okxOptionsForMode(config, env)), config.mode);
}
