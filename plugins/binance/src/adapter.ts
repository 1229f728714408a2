import {
  type AdapterDefinition,
  AdapterPort,
  assertTimeframe,
  type Balance,
  type Candle,
  type CandleQuery,
  type CandleStreamEvents,
  type Clock,
  type ExecutionAdapter,
  type InstrumentInfo,
  type MarketDataAdapter,
  type OrderStreamEvents,
  type PlaceOrderRequest,
  type PlaceOrderResult,
  type Position,
  type Subscription,
  systemClock,
  type Ticker,
  timeframeMs,
  type VenueOrder,
} from '@kokex/core';
import {
  BINANCE_INTERVALS,
  BINANCE_SIM_CREDENTIALS,
  type BinanceAdapterConfig,
  type BinanceAdapterMode,
  type BinanceAdapterOptions,
  type BinanceCredentials,
  binanceAdapterConfigSchema,
  binanceUrls,
  credentialsFromEnv,
} from './config.js';
import {
  BinanceApiError,
  BinanceConfigError,
  BinanceError,
  BinanceErrorCode,
  BinanceInstrumentUnknownError,
  BinanceMalformedError,
} from './errors.js';
import { BinanceRestClient } from './http.js';
import {
  BINANCE_VENUE,
  balanceFromRest,
  candleFromKlineEvent,
  candleFromRow,
  orderUpdateFromEvent,
  orderUpdateKey,
  positionFromRest,
  venueOrderFromRest,
} from './parse.js';
import { decimal } from './sign.js';
import { ReconnectingSocket } from './socket.js';

/** Bars per klines request (Binance's maximum is 1500; weight 10 above 1000). */
const KLINE_PAGE = 1500;
/** Bars of history when a query names no start. */
const DEFAULT_HISTORY_BARS = 300;
/** Client order ids remembered as sent by this process: a repeat is looked up before it is sent. */
const SENT_IDS_KEPT = 10_000;
/** Closed bars remembered per stream, to drop repeated pushes. */
const CLOSED_KEPT = 500;

/** Instrument rules as Binance lists them: core's fields plus the notional floor and the MARKET lot cap. */
export interface BinanceInstrumentInfo extends InstrumentInfo {
  /** MIN_NOTIONAL `notional`: price × quantity must reach it (reduce-only orders excepted). */
  minNotional: number;
  /** MARKET_LOT_SIZE `maxQty`: the largest MARKET order. */
  marketMaxSize: number;
  maxSize: number;
}

interface ExchangeSymbol {
  symbol: string;
  status: string;
  contractType: string;
  baseAsset: string;
  quoteAsset: string;
  filters: Array<Record<string, unknown>>;
}

/** The Binance interval for a KOKEX timeframe; refused when Binance has no such bar. */
export function binanceInterval(tf: string): string {
  const interval = BINANCE_INTERVALS[assertTimeframe(tf)];
  if (!interval) {
    throw new BinanceConfigError(`Binance has no "${tf}" bars; use one of ${Object.keys(BINANCE_INTERVALS).join(', ')}`, { timeframe: tf });
  }
  return interval;
}

function refusal(err: unknown): err is BinanceApiError {
  if (!(err instanceof BinanceApiError) || err.retryable) return false;
  const c = err.binanceCode;
  // Authentication and permission errors stop every order: not a refusal of this one.
  if ([-1002, -1022, -2014, -2015, -2008].includes(c)) return false;
  return c <= -1100 || c === -1013 || c === -1111 || c === -1116 || c === -1117;
}

/**
 * Binance USDⓈ-M futures behind core's ports: market data (klines over REST and the `/market`
 * kline streams) and trading (orders by client order id over signed REST, the user-data stream on
 * its listen key). Quantities are base units, so the contract value is 1. The client order id is
 * the idempotency key: -4116 (an open order has it), an answer that never came (timeout, -1007,
 * 5xx) and an id this process sent before are all settled by asking Binance for the order.
 */
export class BinanceVenueAdapter implements MarketDataAdapter, ExecutionAdapter {
  readonly venue = BINANCE_VENUE;
  readonly rest: BinanceRestClient;
  readonly #config: BinanceAdapterConfig;
  readonly #ws: string;
  readonly #clock: Clock;
  #symbols: { at: number; bySymbol: Map<string, ExchangeSymbol> } | undefined;
  // Market streams: one combined connection for every stream the adapter's users hold.
  #market: ReconnectingSocket | undefined;
  #marketReady: Promise<void> | undefined;
  readonly #streams = new Map<string, Set<(c: Candle) => void>>();
  readonly #streamKeys = new Map<string, { inst: string; tf: string }>();
  readonly #closedSeen = new Map<string, number[]>();
  readonly #candleEvents = new Set<CandleStreamEvents>();
  #requestId = 1;
  // User data.
  #user: ReconnectingSocket | undefined;
  #userReady: Promise<void> | undefined;
  #keepalive: unknown;
  #listenKey: string | undefined;
  readonly #orderEvents = new Set<OrderStreamEvents>();
  readonly #seenUpdates: string[] = [];
  readonly #seenUpdateSet = new Set<string>();
  readonly #sentIds = new Set<string>();

  constructor(config: BinanceAdapterConfig, credentials: BinanceCredentials | undefined, clock: Clock = systemClock) {
    this.#config = config;
    this.#clock = clock;
    const urls = binanceUrls(config);
    this.#ws = urls.ws;
    this.rest = new BinanceRestClient({
      baseUrl: urls.rest,
      ...(credentials ? { credentials } : {}),
      recvWindow: config.recvWindow,
      ...config.http,
      clock,
    });
  }

  get mode(): BinanceAdapterMode {
    return this.#config.mode;
  }

  // --- market data --------------------------------------------------------------------------------

  async instrument(inst: string): Promise<BinanceInstrumentInfo> {
    const s = (await this.#exchangeInfo()).get(inst);
    if (!s) throw new BinanceInstrumentUnknownError(inst);
    const filter = (type: string) => s.filters.find((f) => f.filterType === type) ?? {};
    const price = filter('PRICE_FILTER');
    const lot = filter('LOT_SIZE');
    const marketLot = filter('MARKET_LOT_SIZE');
    const notional = filter('MIN_NOTIONAL');
    const step = Number(lot.stepSize);
    return {
      venue: BINANCE_VENUE,
      inst: s.symbol,
      instType: s.contractType === 'PERPETUAL' || s.contractType === 'TRADIFI_PERPETUAL' ? 'SWAP' : 'FUTURES',
      tickSize: Number(price.tickSize),
      lotSize: step,
      minSize: Math.max(Number(lot.minQty), step),
      // USDⓈ-M quantities are base units: one contract is one unit of the base asset.
      contractValue: 1,
      baseCcy: s.baseAsset,
      quoteCcy: s.quoteAsset,
      state: s.status === 'TRADING' ? 'live' : s.status.toLowerCase(),
      minNotional: Number(notional.notional ?? 0),
      marketMaxSize: Number(marketLot.maxQty ?? lot.maxQty),
      maxSize: Number(lot.maxQty),
    };
  }

  async ticker(inst: string): Promise<Ticker> {
    const [last, book] = await Promise.all([
      this.rest.request<{ symbol: string; price: string; time: number }>({
        method: 'GET',
        path: '/fapi/v2/ticker/price',
        params: { symbol: inst },
        security: 'NONE',
        idempotent: true,
      }),
      this.rest.request<{ bidPrice: string; askPrice: string; time: number }>({
        method: 'GET',
        path: '/fapi/v1/ticker/bookTicker',
        params: { symbol: inst },
        security: 'NONE',
        weight: 2,
        idempotent: true,
      }),
    ]);
    return { inst, last: Number(last.price), bid: Number(book.bidPrice), ask: Number(book.askPrice), ts: Number(last.time) };
  }

  /**
   * Closed bars in [since, until), oldest first, a klines request (≤ 1500 bars) per page. The
   * range ends at the venue's forming bar (the newest row klines returns), whatever `until` says,
   * so a forming bar is never handed out as closed.
   */
  async *candleHistory(query: CandleQuery): AsyncIterable<Candle[]> {
    const tf = assertTimeframe(query.tf);
    const interval = binanceInterval(tf);
    const step = timeframeMs(tf);
    const forming = await this.#formingBarOpen(query.inst, interval);
    if (forming === undefined) return;
    const until = Math.min(query.until ?? forming, forming);
    let since = query.since ?? until - DEFAULT_HISTORY_BARS * step;
    while (since < until) {
      const rows = await this.rest.request<unknown[]>({
        method: 'GET',
        path: '/fapi/v1/klines',
        params: { symbol: query.inst, interval, startTime: since, endTime: until - 1, limit: KLINE_PAGE },
        security: 'NONE',
        weight: 10,
        idempotent: true,
      });
      const now = this.#clock.now();
      const page = rows.map((r) => candleFromRow(r, query.inst, tf, now)).filter((c) => c.ts >= since && c.ts < until);
      if (page.length === 0) return;
      yield page;
      since = (page.at(-1) as Candle).ts + step;
      if (rows.length < KLINE_PAGE) return;
    }
  }

  async subscribeCandles(keys: Array<{ inst: string; tf: string }>, events: CandleStreamEvents): Promise<Subscription> {
    const held: Array<{ stream: string; listener: (c: Candle) => void }> = [];
    const fresh: string[] = [];
    for (const k of keys) {
      const interval = binanceInterval(k.tf);
      const stream = `${k.inst.toLowerCase()}@kline_${interval}`;
      const listener = (c: Candle) => events.onCandle(c);
      let set = this.#streams.get(stream);
      if (!set) {
        set = new Set();
        this.#streams.set(stream, set);
        this.#streamKeys.set(stream, { inst: k.inst, tf: assertTimeframe(k.tf) });
        fresh.push(stream);
      }
      set.add(listener);
      held.push({ stream, listener });
    }
    this.#candleEvents.add(events);
    if (!this.#market) {
      this.#market = new ReconnectingSocket({
        url: () => `${this.#ws}/market/stream?streams=${[...this.#streams.keys()].join('/')}`,
        onMessage: (text) => this.#onMarket(text),
        onReconnected: () => {
          for (const e of this.#candleEvents) e.onResubscribed?.();
        },
        onError: (err) => {
          for (const e of this.#candleEvents) e.onError?.(err);
        },
        initialDelayMs: this.#config.ws.reconnectInitialDelayMs,
        maxDelayMs: this.#config.ws.reconnectMaxDelayMs,
        connectTimeoutMs: this.#config.ws.connectTimeoutMs,
        clock: this.#clock,
      });
      this.#marketReady = this.#market.start();
      // An unreachable venue is weather: the socket keeps trying, the stream URL carries every stream.
      await this.#marketReady.catch((err: unknown) => events.onError?.(err));
    } else if (fresh.length > 0) {
      await this.#marketReady?.catch(() => undefined);
      this.#market.send(JSON.stringify({ method: 'SUBSCRIBE', params: fresh, id: this.#requestId++ }));
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        this.#candleEvents.delete(events);
        const gone: string[] = [];
        for (const { stream, listener } of held) {
          const set = this.#streams.get(stream);
          set?.delete(listener);
          if (set && set.size === 0) {
            this.#streams.delete(stream);
            this.#streamKeys.delete(stream);
            gone.push(stream);
          }
        }
        if (this.#streams.size === 0) {
          const m = this.#market;
          this.#market = undefined;
          await m?.close();
        } else if (gone.length > 0) this.#market?.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: gone, id: this.#requestId++ }));
      },
    };
  }

  #onMarket(text: string): void {
    let frame: { stream?: unknown; data?: unknown; result?: unknown; id?: unknown; code?: unknown; msg?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      this.#marketError(new BinanceMalformedError('stream frame', `not JSON: ${text.slice(0, 80)}`));
      return;
    }
    if (typeof frame.code === 'number') {
      this.#marketError(new BinanceMalformedError('stream answer', `request refused: ${String(frame.msg)}`));
      return;
    }
    if (typeof frame.stream !== 'string') return;
    const key = this.#streamKeys.get(frame.stream);
    const listeners = this.#streams.get(frame.stream);
    if (!key || !listeners) return;
    let candle: Candle;
    try {
      candle = candleFromKlineEvent(frame.data, key.inst, key.tf, this.#clock.now());
    } catch (err) {
      this.#marketError(err);
      return;
    }
    const seen = this.#closedSeen.get(frame.stream) ?? [];
    if (seen.includes(candle.ts)) return; // a repeat of a closed bar, or an update of a bar already closed
    if (candle.confirmed) {
      seen.push(candle.ts);
      if (seen.length > CLOSED_KEPT) seen.shift();
      this.#closedSeen.set(frame.stream, seen);
    }
    for (const l of listeners) l(candle);
  }

  #marketError(err: unknown): void {
    for (const e of this.#candleEvents) e.onError?.(err);
  }

  async #formingBarOpen(symbol: string, interval: string): Promise<number | undefined> {
    const rows = await this.rest.request<unknown[]>({
      method: 'GET',
      path: '/fapi/v1/klines',
      params: { symbol, interval, limit: 1 },
      security: 'NONE',
      idempotent: true,
    });
    const last = rows.at(-1);
    return Array.isArray(last) ? Number(last[0]) : undefined;
  }

  async #exchangeInfo(): Promise<Map<string, ExchangeSymbol>> {
    const now = this.#clock.now();
    if (this.#symbols && now - this.#symbols.at < this.#config.instrumentsTtlMs) return this.#symbols.bySymbol;
    const info = await this.rest.request<{ symbols: ExchangeSymbol[]; rateLimits?: Array<Record<string, unknown>> }>({
      method: 'GET',
      path: '/fapi/v1/exchangeInfo',
      security: 'NONE',
      idempotent: true,
    });
    const weight = info.rateLimits?.find((r) => r.rateLimitType === 'REQUEST_WEIGHT' && r.interval === 'MINUTE');
    if (weight && Number(weight.limit) > 0) this.rest.weightPerMinute = Math.min(Number(weight.limit), this.#config.http.weightPerMinute);
    this.#symbols = { at: now, bySymbol: new Map(info.symbols.map((s) => [s.symbol, s])) };
    return this.#symbols.bySymbol;
  }

  // --- trading -----------------------------------------------------------------------------------

  #trading(): void {
    if (this.#config.mode === 'paper') {
      throw new BinanceConfigError(
        'binance in paper mode serves market data only; paper plans trade on the paper venue (execution:paper)',
        {
          mode: this.#config.mode,
        },
      );
    }
  }

  async placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderResult> {
    this.#trading();
    const base = { clientOrderId: request.clientOrderId };
    // An id this process sent before may belong to an order that is closed already, which Binance
    // would not refuse (-4116 covers open orders only): ask first.
    if (this.#sentIds.has(request.clientOrderId)) {
      const known = await this.getOrder({ inst: request.inst, clientOrderId: request.clientOrderId });
      if (known) return { ...base, venueOrderId: known.venueOrderId, accepted: true, duplicate: true };
    }
    this.#remember(request.clientOrderId);
    const params: Record<string, string> = {
      symbol: request.inst,
      side: request.side === 'buy' ? 'BUY' : 'SELL',
      type: request.type === 'limit' ? 'LIMIT' : 'MARKET',
      quantity: decimal(request.size),
      newClientOrderId: request.clientOrderId,
      newOrderRespType: 'ACK',
    };
    if (request.type === 'limit') {
      if (request.price === undefined)
        throw new BinanceConfigError('a limit order needs a price', { clientOrderId: request.clientOrderId });
      params.price = decimal(request.price);
      params.timeInForce = 'GTC';
    }
    if (request.reduceOnly) params.reduceOnly = 'true';
    try {
      const ack = await this.rest.request<Record<string, unknown>>({
        method: 'POST',
        path: '/fapi/v1/order',
        params,
        security: 'SIGNED',
        weight: 0,
        idempotent: false,
      });
      return { ...base, venueOrderId: String(ack.orderId), accepted: true, duplicate: false };
    } catch (err) {
      const duplicate = err instanceof BinanceApiError && err.binanceCode === -4116;
      if (duplicate || this.#outcomeUnknown(err)) {
        const existing = await this.#lookUpPlaced(request, duplicate);
        if (existing) return { ...base, venueOrderId: existing.venueOrderId, accepted: true, duplicate };
        throw err;
      }
      if (refusal(err))
        return { ...base, venueOrderId: '', accepted: false, duplicate: false, reason: `${err.binanceCode}: ${err.binanceMsg}` };
      throw err;
    }
  }

  /** The order a place that failed uncertainly may have made: asked twice, a moment apart (reference §6). */
  async #lookUpPlaced(request: PlaceOrderRequest, mustExist: boolean): Promise<VenueOrder | undefined> {
    for (let i = 0; i < 2; i++) {
      const found = await this.getOrder({ inst: request.inst, clientOrderId: request.clientOrderId }).catch(() => undefined);
      if (found) return found;
      if (!mustExist && i === 0) await new Promise((r) => this.#clock.setTimeout(() => r(undefined), 300));
    }
    return undefined;
  }

  #outcomeUnknown(err: unknown): boolean {
    if (err instanceof BinanceApiError) return err.outcomeUnknown;
    return (
      err instanceof BinanceError &&
      err.retryable &&
      (err.code === BinanceErrorCode.Timeout || err.code === BinanceErrorCode.Transport || err.code === BinanceErrorCode.Malformed)
    );
  }

  #remember(id: string): void {
    this.#sentIds.add(id);
    if (this.#sentIds.size > SENT_IDS_KEPT) this.#sentIds.delete(this.#sentIds.values().next().value as string);
  }

  /** Resolves once Binance canceled it, or when it is final or unknown already (-2011). */
  async cancelOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<void> {
    this.#trading();
    try {
      await this.rest.request({ method: 'DELETE', path: '/fapi/v1/order', params: this.#ref(ref), security: 'SIGNED', idempotent: true });
    } catch (err) {
      if (err instanceof BinanceApiError && err.binanceCode === -2011) return;
      throw err;
    }
  }

  /** Changes a resting limit order's price (PUT /fapi/v1/order; the order loses its queue place). */
  async amendOrder(
    ref: { inst: string; clientOrderId?: string; venueOrderId?: string },
    change: { price?: number; size?: number },
  ): Promise<void> {
    this.#trading();
    const order = await this.getOrder(ref);
    if (!order) throw new BinanceApiError({ code: -2013, msg: 'Order does not exist.', httpStatus: 400, path: '/fapi/v1/order' });
    await this.rest.request({
      method: 'PUT',
      path: '/fapi/v1/order',
      params: {
        ...this.#ref(ref),
        side: order.side === 'buy' ? 'BUY' : 'SELL',
        quantity: decimal(change.size ?? order.size),
        price: decimal(change.price ?? order.price ?? 0),
      },
      security: 'SIGNED',
      idempotent: false,
    });
  }

  async getOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<VenueOrder | undefined> {
    this.#trading();
    try {
      const o = await this.rest.request<Record<string, unknown>>({
        method: 'GET',
        path: '/fapi/v1/order',
        params: this.#ref(ref),
        security: 'SIGNED',
        idempotent: true,
      });
      return venueOrderFromRest(o);
    } catch (err) {
      if (err instanceof BinanceApiError && err.binanceCode === -2013) return undefined;
      throw err;
    }
  }

  async openOrders(inst?: string): Promise<VenueOrder[]> {
    this.#trading();
    const rows = await this.rest.request<Array<Record<string, unknown>>>({
      method: 'GET',
      path: '/fapi/v1/openOrders',
      params: { symbol: inst },
      security: 'SIGNED',
      weight: inst ? 1 : 40,
      idempotent: true,
    });
    return rows.map(venueOrderFromRest);
  }

  async positions(inst?: string): Promise<Position[]> {
    this.#trading();
    const rows = await this.rest.request<Array<Record<string, unknown>>>({
      method: 'GET',
      path: '/fapi/v2/positionRisk',
      params: { symbol: inst },
      security: 'SIGNED',
      weight: 5,
      idempotent: true,
    });
    return rows.map(positionFromRest).filter((p) => p.size !== 0 && (!inst || p.inst === inst));
  }

  async balances(): Promise<Balance[]> {
    this.#trading();
    const rows = await this.rest.request<Array<Record<string, unknown>>>({
      method: 'GET',
      path: '/fapi/v2/balance',
      security: 'SIGNED',
      weight: 5,
      idempotent: true,
    });
    return rows.map(balanceFromRest);
  }

  /**
   * The user-data stream: a listen key (POST /listenKey), its socket, a keepalive every
   * `ws.keepaliveMs`, and a new key when Binance says the old one expired (`listenKeyExpired`, or
   * -1125 on a keepalive). Binance replays nothing after a gap, so every reconnect and new key
   * fires `onResubscribed` and the caller resyncs through `openOrders` and `getOrder`. Repeated
   * pushes are dropped by (order, execution type, status, filled, trade).
   */
  async subscribeOrders(events: OrderStreamEvents): Promise<Subscription> {
    this.#trading();
    this.#orderEvents.add(events);
    if (!this.#user) {
      this.#user = new ReconnectingSocket({
        url: async () => {
          this.#listenKey = (
            await this.rest.request<{ listenKey: string }>({
              method: 'POST',
              path: '/fapi/v1/listenKey',
              security: 'KEY',
              idempotent: true,
            })
          ).listenKey;
          return `${this.#ws}/private/ws/${this.#listenKey}`;
        },
        onMessage: (text) => this.#onUser(text),
        onReconnected: () => {
          for (const e of this.#orderEvents) e.onResubscribed?.();
        },
        onError: (err) => {
          for (const e of this.#orderEvents) e.onError?.(err);
        },
        initialDelayMs: this.#config.ws.reconnectInitialDelayMs,
        maxDelayMs: this.#config.ws.reconnectMaxDelayMs,
        connectTimeoutMs: this.#config.ws.connectTimeoutMs,
        clock: this.#clock,
      });
      this.#userReady = this.#user.start();
      this.#scheduleKeepalive();
    }
    try {
      await this.#userReady;
    } catch (err) {
      this.#orderEvents.delete(events);
      if (this.#orderEvents.size === 0) await this.#closeUser();
      throw err;
    }
    let closing: Promise<void> | undefined;
    return {
      close: () =>
        (closing ??= (async () => {
          this.#orderEvents.delete(events);
          if (this.#orderEvents.size === 0) await this.#closeUser();
        })()),
    };
  }

  #scheduleKeepalive(): void {
    this.#keepalive = this.#clock.setTimeout(async () => {
      if (!this.#user) return;
      try {
        await this.rest.request({
          method: 'PUT',
          path: '/fapi/v1/listenKey',
          params: { listenKey: this.#listenKey },
          security: 'KEY',
          idempotent: true,
        });
      } catch (err) {
        // -1125: the key is gone; a new connection asks for a new one.
        if (err instanceof BinanceApiError && err.binanceCode === -1125) this.#user?.recycle();
        else for (const e of this.#orderEvents) e.onError?.(err);
      }
      this.#scheduleKeepalive();
    }, this.#config.ws.keepaliveMs);
  }

  #onUser(text: string): void {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(text) as Record<string, unknown>;
    } catch {
      for (const e of this.#orderEvents) e.onError?.(new BinanceMalformedError('user stream frame', `not JSON: ${text.slice(0, 80)}`));
      return;
    }
    if (event.e === 'listenKeyExpired') {
      this.#user?.recycle();
      return;
    }
    if (event.e !== 'ORDER_TRADE_UPDATE') return;
    const key = orderUpdateKey(event);
    if (this.#seenUpdateSet.has(key)) return;
    this.#seenUpdateSet.add(key);
    this.#seenUpdates.push(key);
    if (this.#seenUpdates.length > SENT_IDS_KEPT) this.#seenUpdateSet.delete(this.#seenUpdates.shift() as string);
    let update: ReturnType<typeof orderUpdateFromEvent>;
    try {
      update = orderUpdateFromEvent(event, this.#clock.now());
    } catch (err) {
      for (const e of this.#orderEvents) e.onError?.(err);
      return;
    }
    for (const e of this.#orderEvents) e.onOrder(update);
  }

  async #closeUser(): Promise<void> {
    this.#clock.clearTimeout(this.#keepalive);
    const user = this.#user;
    this.#user = undefined;
    this.#userReady = undefined;
    await user?.close();
    // The key is not deleted: Binance gives every process on the account the same key, so a
    // DELETE here would end another executor's stream. Unused, it expires after 60 minutes.
    this.#listenKey = undefined;
  }

  #ref(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Record<string, string> {
    if (ref.venueOrderId) return { symbol: ref.inst, orderId: ref.venueOrderId };
    if (ref.clientOrderId) return { symbol: ref.inst, origClientOrderId: ref.clientOrderId };
    throw new BinanceConfigError('an order reference needs a venueOrderId or a clientOrderId', { inst: ref.inst });
  }

  async close(): Promise<void> {
    const market = this.#market;
    this.#market = undefined;
    await market?.close();
    await this.#closeUser();
  }
}

/** Validates the configuration, takes keys from the environment (sim mode: the simulator's when none) and builds the adapter. */
export function createBinanceAdapter(
  options: BinanceAdapterOptions,
  env: Record<string, string | undefined> = process.env,
): BinanceVenueAdapter {
  const config = binanceAdapterConfigSchema.parse(options);
  const credentials = credentialsFromEnv(env) ?? (config.mode === 'sim' ? { ...BINANCE_SIM_CREDENTIALS } : undefined);
  return new BinanceVenueAdapter(config, credentials);
}

/** `registry.resolve('exchange', 'binance', {mode})`: market data, and trading on the same clients. */
export const binanceExchangeAdapter: AdapterDefinition<BinanceVenueAdapter> = {
  port: AdapterPort.exchange,
  name: BINANCE_VENUE,
  description:
    'Binance USDⓈ-M futures: klines over REST and the /market streams (modes sim, paper, demo, live); orders and the user-data stream (sim, demo, live)',
  configSchema: binanceAdapterConfigSchema,
  create: (config) => createBinanceAdapter(config as BinanceAdapterOptions),
};

/** The same adapter on the execution port: an instance of its own, with its own weight budget and user stream. */
export const binanceExecutionAdapter: AdapterDefinition<BinanceVenueAdapter> = {
  port: AdapterPort.execution,
  name: BINANCE_VENUE,
  description:
    'Binance USDⓈ-M trading: signed orders by client order id, the listen-key user-data stream, positions and balances (sim, demo, live)',
  configSchema: binanceAdapterConfigSchema,
  create: (config) => createBinanceAdapter(config as BinanceAdapterOptions),
};
