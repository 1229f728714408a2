import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AccountEvent, TradingEngine } from './engine.js';
import { BinanceReject } from './engine.js';
import type { FaultDice } from './faults.js';
import { INTERVAL_MS, klineEvent, type MarketTape } from './market.js';

export type WsRoot = 'market' | 'public' | 'private' | 'unrouted';

export interface WsOptions {
  /** Server ping frames this often (Binance: every 3 min). */
  pingIntervalMs: number;
  /** A connection that has not answered a ping for this long is cut (Binance: 10 min). */
  pongTimeoutMs: number;
  /** Connections are cut after this long (Binance: 24 h). */
  maxConnectionMs: number;
  /** Incoming messages per second before the server cuts the connection (Binance: 10). */
  maxMessagesPerSec: number;
  /** A listen key lives this long from creation or the last keepalive (Binance: 60 min). */
  listenKeyTtlMs: number;
}

export const DEFAULT_WS_OPTIONS: Readonly<WsOptions> = Object.freeze({
  pingIntervalMs: 180_000,
  pongTimeoutMs: 600_000,
  maxConnectionMs: 86_400_000,
  maxMessagesPerSec: 10,
  listenKeyTtlMs: 3_600_000,
});

interface Conn {
  id: number;
  socket: WebSocket;
  root: WsRoot;
  combined: boolean;
  streams: Set<string>;
  listenKey?: string;
  apiKey?: string;
  /** Pushes held back by the reorder fault, by stream. */
  held: Map<string, string>;
  messageTimes: number[];
  lastPong: number;
  timers: NodeJS.Timeout[];
}

export interface WsConnectionInfo {
  id: number;
  root: WsRoot;
  streams: string[];
  listenKey?: string;
}

/**
 * The WebSocket side: market streams under `/market` (`/ws/<streams>` raw, `/stream?streams=`
 * combined), `/public` (book streams only: klines subscribed there stay silent, as on Binance), the
 * retired unrouted `/ws` and `/stream` (public only), and the user-data stream under
 * `/private/ws/<listenKey>`. JSON SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY with
 * integer ids; ping frames; push faults (skip, duplicate, reorder) and cuts.
 */
export class WsGateway {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #conns = new Map<number, Conn>();
  #nextId = 1;
  /** Listen key by account, with its expiry (wall time). */
  readonly #keys = new Map<string, { key: string; expiresAt: number }>();
  readonly #expiryTimer: NodeJS.Timeout;
  readonly stats = { pushes: 0, skipped: 0, duplicated: 0, reordered: 0, drops: 0, listenKeysExpired: 0 };

  constructor(
    private readonly tape: MarketTape,
    private readonly engine: TradingEngine,
    private readonly faults: FaultDice,
    private readonly options: WsOptions,
    private readonly wallNow: () => number,
  ) {
    engine.onEvent((apiKey, event) => this.#userEvent(apiKey, event));
    this.#expiryTimer = setInterval(() => this.#expireDue(), 1000);
    this.#expiryTimer.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const parts = url.pathname.split('/').filter(Boolean);
    let root: WsRoot = 'unrouted';
    if (parts[0] === 'market' || parts[0] === 'public' || parts[0] === 'private') root = parts.shift() as WsRoot;
    const form = parts.shift();
    if (form !== 'ws' && form !== 'stream') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const combined = form === 'stream';
    const named = combined ? (url.searchParams.get('streams') ?? '').split('/').filter(Boolean) : parts;
    let listenKey: string | undefined;
    let apiKey: string | undefined;
    if (root === 'private') {
      listenKey = (combined ? undefined : parts[0]) ?? url.searchParams.get('listenKey') ?? undefined;
      apiKey = [...this.#keys.entries()].find(([, k]) => k.key === listenKey && k.expiresAt > this.wallNow())?.[0];
      if (!apiKey) {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n{"code":-1125,"msg":"This listenKey does not exist."}');
        return;
      }
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Conn = {
        id: this.#nextId++,
        socket: ws,
        root,
        combined,
        streams: new Set(root === 'private' ? [] : named.map((s) => s.toLowerCase())),
        listenKey,
        apiKey,
        held: new Map(),
        messageTimes: [],
        lastPong: this.wallNow(),
        timers: [],
      };
      this.#conns.set(conn.id, conn);
      ws.on('pong', () => {
        conn.lastPong = this.wallNow();
      });
      ws.on('message', (data) => this.#onMessage(conn, data.toString()));
      ws.on('close', () => this.#forget(conn));
      ws.on('error', () => this.#forget(conn));
      const ping = setInterval(() => {
        if (this.wallNow() - conn.lastPong > this.options.pongTimeoutMs) ws.terminate();
        else ws.ping();
      }, this.options.pingIntervalMs);
      const cut = setTimeout(() => ws.close(1000, 'connection lifetime reached'), this.options.maxConnectionMs);
      ping.unref();
      cut.unref();
      conn.timers.push(ping, cut);
    });
  }

  /** After a step: the klines that closed (x:true), then the forming ones, to every subscriber. */
  afterStep(): void {
    const now = this.tape.now();
    for (const conn of this.#conns.values()) {
      if (conn.root !== 'market') continue;
      for (const stream of conn.streams) {
        const m = /^([a-z0-9]+)@kline_(\w+)$/.exec(stream);
        if (!m) continue;
        const [, sym = '', interval = ''] = m;
        const symbol = sym.toUpperCase();
        if (!this.engine.symbols.has(symbol) || !this.tape.serves(interval)) continue;
        const ms = INTERVAL_MS[interval] as number;
        const open = Math.floor(now / ms) * ms;
        if (now === open) {
          const closed = this.tape.kline(interval, open - ms);
          if (closed) this.#push(conn, stream, klineEvent(symbol, interval, closed, now), false);
        }
        const forming = this.tape.kline(interval, open);
        if (forming) this.#push(conn, stream, klineEvent(symbol, interval, forming, now), false);
      }
    }
  }

  // --- listen keys ------------------------------------------------------------------------------

  createListenKey(apiKey: string): string {
    const current = this.#keys.get(apiKey);
    const expiresAt = this.wallNow() + this.options.listenKeyTtlMs;
    if (current && current.expiresAt > this.wallNow()) {
      current.expiresAt = expiresAt;
      return current.key;
    }
    const key = randomBytes(32).toString('base64url');
    this.#keys.set(apiKey, { key, expiresAt });
    return key;
  }

  keepaliveListenKey(apiKey: string, key: string | undefined): string {
    const current = this.#keys.get(apiKey);
    if (!current || current.expiresAt <= this.wallNow() || (key !== undefined && key !== current.key)) {
      throw new BinanceReject(-1125, 'This listenKey does not exist.');
    }
    current.expiresAt = this.wallNow() + this.options.listenKeyTtlMs;
    return current.key;
  }

  /** DELETE /listenKey: the key is gone and every stream on it closes (for every process sharing it). */
  removeListenKey(apiKey: string, key: string | undefined): void {
    const current = this.#keys.get(apiKey);
    if (!current || (key !== undefined && key !== current.key)) return;
    this.#keys.delete(apiKey);
    for (const conn of this.#conns.values()) if (conn.listenKey === current.key) conn.socket.close(1000, 'listenKey deleted');
  }

  /**
   * Expires listen keys now (all, or one account's): their sockets hear `listenKeyExpired` and
   * then stay open but silent, as Binance's do. Returns how many keys expired.
   */
  expireListenKeys(apiKey?: string): number {
    let n = 0;
    for (const [owner, k] of this.#keys) {
      if (apiKey !== undefined && owner !== apiKey) continue;
      k.expiresAt = 0;
      n++;
    }
    this.#expireDue();
    return n;
  }

  #expireDue(): void {
    const wall = this.wallNow();
    for (const [owner, k] of [...this.#keys]) {
      if (k.expiresAt > wall) continue;
      this.#keys.delete(owner);
      this.stats.listenKeysExpired++;
      for (const conn of this.#conns.values()) {
        if (conn.listenKey !== k.key) continue;
        this.#sendNow(conn, JSON.stringify({ e: 'listenKeyExpired', E: this.tape.now(), listenKey: k.key }));
        conn.apiKey = undefined;
      }
    }
  }

  // --- connections -----------------------------------------------------------------------------

  connections(): WsConnectionInfo[] {
    return [...this.#conns.values()].map((c) => ({ id: c.id, root: c.root, streams: [...c.streams], listenKey: c.listenKey }));
  }

  /** Cuts connections now, without a close handshake. Returns how many. */
  drop(filter: { root?: WsRoot } = {}): number {
    let n = 0;
    for (const conn of [...this.#conns.values()]) {
      if (filter.root && conn.root !== filter.root) continue;
      conn.socket.terminate();
      this.#forget(conn);
      n++;
    }
    this.stats.drops += n;
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.#expiryTimer);
    this.drop();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #forget(conn: Conn): void {
    for (const t of conn.timers) clearTimeout(t);
    this.#conns.delete(conn.id);
  }

  #onMessage(conn: Conn, text: string): void {
    const wall = this.wallNow();
    conn.messageTimes = conn.messageTimes.filter((t) => t > wall - 1000);
    conn.messageTimes.push(wall);
    if (conn.messageTimes.length > this.options.maxMessagesPerSec) {
      conn.socket.close(1008, 'Too many requests');
      return;
    }
    let msg: { method?: unknown; params?: unknown; id?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.#sendNow(conn, JSON.stringify({ code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' }));
      return;
    }
    const id = msg.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      this.#sendNow(conn, JSON.stringify({ code: 2, msg: 'Invalid request: request ID must be an unsigned integer', id: id ?? null }));
      return;
    }
    const params = Array.isArray(msg.params) ? msg.params : [];
    switch (msg.method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!params.every((p) => typeof p === 'string')) {
          this.#sendNow(conn, JSON.stringify({ code: 2, msg: 'Invalid request: invalid stream name', id }));
          return;
        }
        for (const p of params as string[]) {
          if (msg.method === 'SUBSCRIBE') conn.streams.add(p.toLowerCase());
          else conn.streams.delete(p.toLowerCase());
        }
        this.#sendNow(conn, JSON.stringify({ result: null, id }));
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        this.#sendNow(conn, JSON.stringify({ result: [...conn.streams], id }));
        return;
      case 'SET_PROPERTY':
        if (params[0] !== 'combined') this.#sendNow(conn, JSON.stringify({ code: 0, msg: 'Unknown property', id }));
        else if (typeof params[1] !== 'boolean')
          this.#sendNow(conn, JSON.stringify({ code: 1, msg: 'Invalid value type: expected Boolean', id }));
        else {
          conn.combined = params[1];
          this.#sendNow(conn, JSON.stringify({ result: null, id }));
        }
        return;
      case 'GET_PROPERTY':
        this.#sendNow(conn, JSON.stringify({ result: conn.combined, id }));
        return;
      default:
        this.#sendNow(conn, JSON.stringify({ code: 2, msg: 'Invalid request: unknown method', id }));
    }
  }

  #userEvent(apiKey: string, event: AccountEvent): void {
    for (const conn of this.#conns.values()) {
      if (conn.root !== 'private' || conn.apiKey !== apiKey) continue;
      this.#push(conn, String(event.e), event, true);
    }
  }

  /** One push, through the fault dice: skipped, sent twice, or held back behind the next one. */
  #push(conn: Conn, stream: string, data: Record<string, unknown>, userData: boolean): void {
    const text = conn.combined && !userData ? JSON.stringify({ stream, data }) : JSON.stringify(data);
    const f = this.faults.faults;
    const faulty = !userData || f.privateChannels;
    this.stats.pushes++;
    if (faulty && this.faults.roll(f.skipPushes)) {
      this.stats.skipped++;
      return;
    }
    const held = conn.held.get(stream);
    if (faulty && held === undefined && this.faults.roll(f.reorderPushes)) {
      conn.held.set(stream, text);
      this.stats.reordered++;
      return;
    }
    this.#sendNow(conn, text);
    if (faulty && this.faults.roll(f.duplicatePushes)) {
      this.stats.duplicated++;
      this.#sendNow(conn, text);
    }
    if (held !== undefined) {
      conn.held.delete(stream);
      this.#sendNow(conn, held);
    }
  }

  #sendNow(conn: Conn, text: string): void {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(text);
  }
}
