import { type Candle, timeframeMs } from '@kokex/core';
import type { OkxCredentials } from '../common/credentials.js';
import { OkxWsEndpoint } from '../common/enums.js';
import { type OkxUrlOptions, okxWsUrl } from '../common/urls.js';
import { OkxError, OkxErrorCode, OkxMalformedResponseError, OkxWsError } from '../errors.js';
import type { OkxBalance, OkxFill, OkxOrder, OkxPosition, OkxTicker } from '../types.js';
import type { BackoffOptions } from './backoff.js';
import { OkxWsConnection, type OkxWsLifecycleEvent } from './connection.js';
import { CandleSequenceTracker, OrderPushDeduper } from './dedupe.js';
import { TypedEmitter } from './emitter.js';
import type { OkxWsArg, OkxWsEventFrame, OkxWsFrame, OkxWsPushFrame } from './messages.js';
import { parseAccountPush, parseCandlePush, parseOrderPush, parsePositionPush, parseTickerPush } from './parse.js';
import { argKey, channelNeedsLogin, endpointForChannel } from './subscriptions.js';

export interface OkxWsClientOptions extends OkxUrlOptions {
  /** Explicit URLs per endpoint; otherwise built from region/demo/host/port. */
  urls?: Partial<Record<OkxWsEndpoint, string>>;
  credentials?: OkxCredentials;
  /** Ping after this much silence. Default 20,000 ms (OKX closes after 30 s). */
  pingIntervalMs?: number;
  /** Reconnect when a ping gets no answer in this time. Default 10,000 ms. */
  pongTimeoutMs?: number;
  /** Login and subscribe acks. Default 10,000 ms. */
  requestTimeoutMs?: number;
  reconnect?: BackoffOptions;
  /** Args per connection before another connection is opened. Default 200. */
  maxArgsPerConnection?: number;
  /** One subscribe request's args in bytes. Default 65,536 (OKX's 64 KB). */
  maxSubscribePayloadBytes?: number;
  /** Apply OKX's de-duplication rules to `orders` pushes. Default true. */
  dedupeOrders?: boolean;
  now?: () => number;
  random?: () => number;
}

export interface OkxConnectionInfo {
  endpoint: OkxWsEndpoint;
  connectionId: number;
}

export interface OkxWsEvents extends Record<string, unknown> {
  /** Every candle push, forming (confirmed=false) and closed (confirmed=true). */
  candle: Candle;
  ticker: OkxTicker;
  /** Order updates, de-duplicated by OKX's rules unless `dedupeOrders: false`. */
  order: OkxOrder;
  /** The fill carried by an order update (once per tradeId when de-duplicating). */
  fill: OkxFill;
  positions: { eventType: string | undefined; positions: OkxPosition[]; receivedAt: number };
  account: { eventType: string | undefined; balances: OkxBalance[]; receivedAt: number };
  connected: OkxConnectionInfo & { connId: string | undefined };
  /** After a drop or a 64008 hand-over: every arg is subscribed again; backfill what was missed. */
  reconnected: OkxConnectionInfo & { reason: 'dropped' | 'service-upgrade'; attempt: number };
  disconnected: OkxConnectionInfo & { code: number; reason: string };
  notice: OkxConnectionInfo & { code: string; msg: string };
  heartbeat: OkxConnectionInfo & { kind: 'ping' | 'pong' | 'timeout' };
  /** Events that are not acks: `channel-conn-count`, unmatched errors. */
  event: OkxConnectionInfo & { frame: OkxWsEventFrame };
  /** Pushes of channels this client has no parser for, unchanged. */
  push: OkxConnectionInfo & { frame: OkxWsPushFrame };
  /** Malformed frames, unparseable rows, refused subscriptions, failed reconnects. Never thrown. */
  error: OkxError;
}

export interface OkxWsStats {
  messages: number;
  pushes: number;
  candles: number;
  confirmedCandles: number;
  duplicateCandles: number;
  outOfOrderCandles: number;
  candleGaps: number;
  orders: number;
  duplicateOrdersDropped: number;
  malformedFrames: number;
  parseErrors: number;
  pingsSent: number;
  pongsReceived: number;
  heartbeatTimeouts: number;
  disconnects: number;
  reconnects: number;
  serviceUpgrades: number;
}

/**
 * OKX V5 WebSocket for the public, business and private endpoints. Each endpoint gets a pool of
 * connections carrying up to `maxArgsPerConnection` args each; subscriptions are routed by channel
 * (candles to /business, account channels to /private with login). Pushes come out as typed
 * events; nothing a peer sends can make this throw.
 */
export class OkxWsClient extends TypedEmitter<OkxWsEvents> {
  private readonly pools = new Map<string, OkxWsConnection[]>();
  private readonly homes = new Map<string, OkxWsConnection>();
  private readonly orderDeduper = new OrderPushDeduper();
  private readonly candleTracker = new CandleSequenceTracker();
  private readonly counters: OkxWsStats = {
    messages: 0,
    pushes: 0,
    candles: 0,
    confirmedCandles: 0,
    duplicateCandles: 0,
    outOfOrderCandles: 0,
    candleGaps: 0,
    orders: 0,
    duplicateOrdersDropped: 0,
    malformedFrames: 0,
    parseErrors: 0,
    pingsSent: 0,
    pongsReceived: 0,
    heartbeatTimeouts: 0,
    disconnects: 0,
    reconnects: 0,
    serviceUpgrades: 0,
  };
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: OkxWsClientOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
  }

  urlFor(endpoint: OkxWsEndpoint): string {
    return this.options.urls?.[endpoint] ?? okxWsUrl(endpoint, this.options);
  }

  /** Subscribes args (routed to their endpoint) and resolves once OKX acknowledged each. */
  async subscribe(args: OkxWsArg | OkxWsArg[]): Promise<void> {
    const list = Array.isArray(args) ? args : [args];
    const byConnection = new Map<OkxWsConnection, OkxWsArg[]>();
    for (const arg of list) {
      const key = argKey(arg);
      const home = this.homes.get(key) ?? this.allocate(arg, byConnection);
      this.homes.set(key, home);
      byConnection.set(home, [...(byConnection.get(home) ?? []), arg]);
    }
    const results = await Promise.allSettled(
      [...byConnection].map(async ([connection, connArgs]) => {
        try {
          await connection.subscribe(connArgs);
        } finally {
          // Args the venue refused are gone from the connection; forget their home too.
          const kept = new Set(connection.args().map(argKey));
          for (const a of connArgs) if (!kept.has(argKey(a))) this.homes.delete(argKey(a));
        }
      }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async unsubscribe(args: OkxWsArg | OkxWsArg[]): Promise<void> {
    const list = Array.isArray(args) ? args : [args];
    const byConnection = new Map<OkxWsConnection, OkxWsArg[]>();
    for (const arg of list) {
      const home = this.homes.get(argKey(arg));
      if (!home) continue;
      this.homes.delete(argKey(arg));
      byConnection.set(home, [...(byConnection.get(home) ?? []), arg]);
    }
    await Promise.all([...byConnection].map(([connection, connArgs]) => connection.unsubscribe(connArgs)));
  }

  subscribeCandles(instId: string, bars: string | string[]): Promise<void> {
    return this.subscribe((Array.isArray(bars) ? bars : [bars]).map((bar) => ({ channel: `candle${bar}`, instId })));
  }

  subscribeTickers(instIds: string | string[]): Promise<void> {
    return this.subscribe((Array.isArray(instIds) ? instIds : [instIds]).map((instId) => ({ channel: 'tickers', instId })));
  }

  subscribeOrders(filter: { instType?: string; instFamily?: string; instId?: string } = {}): Promise<void> {
    return this.subscribe({ channel: 'orders', instType: filter.instType ?? 'ANY', instFamily: filter.instFamily, instId: filter.instId });
  }

  /** `updateIntervalMs: 0` asks for event pushes only (no periodic snapshots). */
  subscribePositions(filter: { instType?: string; instId?: string; updateIntervalMs?: number } = {}): Promise<void> {
    return this.subscribe({
      channel: 'positions',
      instType: filter.instType ?? 'ANY',
      instId: filter.instId,
      extraParams: extraParams(filter.updateIntervalMs),
    });
  }

  subscribeAccount(filter: { ccy?: string; updateIntervalMs?: number } = {}): Promise<void> {
    return this.subscribe({ channel: 'account', ccy: filter.ccy, extraParams: extraParams(filter.updateIntervalMs) });
  }

  /** Opens (and on /private logs in) a connection without subscribing anything. */
  async connect(endpoint: OkxWsEndpoint): Promise<void> {
    const pool = this.poolFor(endpoint, endpoint === OkxWsEndpoint.Private);
    const connection = pool[0] ?? this.openConnection(endpoint, endpoint === OkxWsEndpoint.Private, pool);
    await connection.subscribe([]);
  }

  /** Every arg currently registered, on every connection. */
  subscriptions(): OkxWsArg[] {
    return [...this.pools.values()].flat().flatMap((c) => c.args());
  }

  /** Connections per endpoint, for diagnostics. */
  connections(): Array<OkxConnectionInfo & { args: number; ready: boolean; connId: string | undefined }> {
    return [...this.pools.values()].flat().map((c) => ({
      endpoint: c.endpoint,
      connectionId: c.id,
      args: c.size,
      ready: c.isReady,
      connId: c.connId,
    }));
  }

  /** Drops the sockets (as a network failure would); they reconnect and resubscribe. */
  forceReconnect(endpoint?: OkxWsEndpoint): void {
    for (const c of [...this.pools.values()].flat()) if (!endpoint || c.endpoint === endpoint) c.dropForTest();
  }

  stats(): OkxWsStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.pools.values()].flat()) c.close();
    this.pools.clear();
    this.homes.clear();
  }

  /** A connection of the arg's endpoint with room, counting args already planned for it in this call. */
  private allocate(arg: OkxWsArg, planned: Map<OkxWsConnection, OkxWsArg[]>): OkxWsConnection {
    const endpoint = endpointForChannel(arg.channel);
    const login = endpoint === OkxWsEndpoint.Private || channelNeedsLogin(arg.channel);
    const pool = this.poolFor(endpoint, login);
    const max = this.options.maxArgsPerConnection ?? 200;
    const load = (c: OkxWsConnection) => c.size + (planned.get(c)?.length ?? 0);
    return pool.find((c) => load(c) < max) ?? this.openConnection(endpoint, login, pool);
  }

  private poolFor(endpoint: OkxWsEndpoint, login: boolean): OkxWsConnection[] {
    const key = `${endpoint}${login ? '+login' : ''}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = [];
      this.pools.set(key, pool);
    }
    return pool;
  }

  private openConnection(endpoint: OkxWsEndpoint, login: boolean, pool: OkxWsConnection[]): OkxWsConnection {
    if (this.closed) throw new OkxError(OkxErrorCode.Closed, 'OkxWsClient is closed');
    const connection = new OkxWsConnection({
      endpoint,
      url: this.urlFor(endpoint),
      login,
      credentials: this.options.credentials,
      pingIntervalMs: this.options.pingIntervalMs ?? 20_000,
      pongTimeoutMs: this.options.pongTimeoutMs ?? 10_000,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 10_000,
      maxSubscribePayloadBytes: this.options.maxSubscribePayloadBytes ?? 65_536,
      reconnect: this.options.reconnect ?? {},
      now: this.now,
      random: this.options.random ?? Math.random,
      onFrame: (frame, conn) => this.onFrame(frame, conn),
      onLifecycle: (event) => this.onLifecycle(event),
    });
    pool.push(connection);
    return connection;
  }

  private info(connection: OkxWsConnection): OkxConnectionInfo {
    return { endpoint: connection.endpoint, connectionId: connection.id };
  }

  private onLifecycle(event: OkxWsLifecycleEvent): void {
    const info = this.info(event.connection);
    switch (event.type) {
      case 'connected':
        this.emit('connected', { ...info, connId: event.connId });
        return;
      case 'reconnected':
        this.counters.reconnects++;
        if (event.reason === 'service-upgrade') this.counters.serviceUpgrades++;
        this.emit('reconnected', { ...info, reason: event.reason, attempt: event.attempt });
        return;
      case 'disconnected':
        this.counters.disconnects++;
        this.emit('disconnected', { ...info, code: event.code, reason: event.reason });
        return;
      case 'notice':
        this.emit('notice', { ...info, code: event.code, msg: event.msg });
        return;
      case 'heartbeat':
        if (event.kind === 'ping') this.counters.pingsSent++;
        else if (event.kind === 'pong') this.counters.pongsReceived++;
        else this.counters.heartbeatTimeouts++;
        this.emit('heartbeat', { ...info, kind: event.kind });
        return;
      case 'error':
        this.reportError(event.error);
        return;
    }
  }

  private onFrame(frame: OkxWsFrame, connection: OkxWsConnection): void {
    this.counters.messages++;
    const info = this.info(connection);
    if (frame.kind === 'malformed') {
      this.counters.malformedFrames++;
      this.reportError(new OkxMalformedResponseError(`malformed WebSocket frame: ${frame.reason}`, { ...info, text: frame.text }));
      return;
    }
    if (frame.kind === 'event') {
      if (frame.event === 'error' || frame.event === 'channel-conn-count-error') {
        this.reportError(new OkxWsError(OkxErrorCode.WsError, frame.code ?? '?', frame.msg ?? frame.event, { ...info, arg: frame.arg }));
      }
      this.emit('event', { ...info, frame });
      return;
    }
    if (frame.kind !== 'push') return;
    this.counters.pushes++;
    try {
      this.dispatchPush(frame, info);
    } catch (err) {
      this.counters.parseErrors++;
      this.reportError(err instanceof OkxError ? err : new OkxMalformedResponseError(String(err), { ...info }, err));
    }
  }

  private dispatchPush(frame: OkxWsPushFrame, info: OkxConnectionInfo): void {
    const receivedAt = this.now();
    const channel = frame.arg.channel;
    if (channel.startsWith('candle')) {
      for (const candle of parseCandlePush(frame, receivedAt)) {
        this.counters.candles++;
        if (candle.confirmed) this.trackConfirmed(candle);
        this.emit('candle', candle, (err) => this.listenerFailed(err));
      }
    } else if (channel === 'tickers') {
      for (const ticker of parseTickerPush(frame, receivedAt)) this.emit('ticker', ticker, (err) => this.listenerFailed(err));
    } else if (channel === 'orders') {
      for (const order of parseOrderPush(frame, receivedAt)) {
        if (this.options.dedupeOrders !== false && !this.orderDeduper.accept(order)) {
          this.counters.duplicateOrdersDropped++;
          continue;
        }
        this.counters.orders++;
        this.emit('order', order, (err) => this.listenerFailed(err));
        if (order.fill) this.emit('fill', order.fill, (err) => this.listenerFailed(err));
      }
    } else if (channel === 'positions') {
      const positions = parsePositionPush(frame, receivedAt);
      this.emit('positions', { eventType: frame.eventType, positions, receivedAt }, (err) => this.listenerFailed(err));
    } else if (channel === 'account') {
      const balances = parseAccountPush(frame, receivedAt);
      this.emit('account', { eventType: frame.eventType, balances, receivedAt }, (err) => this.listenerFailed(err));
    } else {
      this.emit('push', { ...info, frame });
    }
  }

  private trackConfirmed(candle: Candle): void {
    this.counters.confirmedCandles++;
    const verdict = this.candleTracker.observe(`${candle.inst}|${candle.tf}`, candle.ts, timeframeMs(candle.tf));
    if (verdict === 'duplicate') this.counters.duplicateCandles++;
    else if (verdict === 'out-of-order') this.counters.outOfOrderCandles++;
    else if (verdict === 'gap') this.counters.candleGaps++;
  }

  private listenerFailed(err: unknown): void {
    this.reportError(new OkxError(OkxErrorCode.Listener, `event listener threw: ${String(err)}`, { cause: err }));
  }

  private reportError(error: OkxError): void {
    this.emit('error', error);
  }
}

function extraParams(updateIntervalMs: number | undefined): string | undefined {
  return updateIntervalMs === undefined ? undefined : JSON.stringify({ updateInterval: String(updateIntervalMs) });
}
