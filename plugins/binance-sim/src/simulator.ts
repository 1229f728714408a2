import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '@kokex/core';
import { loadBars, type SimBar, type SimBarSource } from './data.js';
import { BTCUSDT, type SimAccountState, type SimSymbol, TradingEngine } from './engine.js';
import { type BinanceSimFaults, FaultDice } from './faults.js';
import { MarketTape } from './market.js';
import { DEFAULT_REST_LIMITS, type RestLimits, RestRouter, type SimApiKey } from './rest.js';
import { DEFAULT_WS_OPTIONS, type WsConnectionInfo, WsGateway, type WsOptions, type WsRoot } from './ws.js';

export interface BinanceSimulatorOptions {
  /** Source bars (array, or a CSV / CSV.gz path with `ts,open,high,low,close,volume`). */
  data: SimBarSource;
  /** Where the replay starts (ms); bars before it are history. Default: the second bar. */
  startAt?: number;
  /** Listed symbols, all priced from the same data. Default BTCUSDT (tick 0.1, step 0.001, min notional 100). */
  symbols?: SimSymbol[];
  /** Accepted API keys. Default one: `sim-key` / `sim-secret`. */
  keys?: SimApiKey[];
  /** Starting USDT wallet of every account. Default 100,000. */
  balance?: number;
  fees?: { maker: number; taker: number };
  faults?: Partial<BinanceSimFaults>;
  /** Seed of the fault dice. Default 1. */
  seed?: number;
  limits?: Partial<RestLimits>;
  ws?: Partial<WsOptions>;
  /** The server's wall clock (signatures, weights, listen keys, pings). Default the system clock. */
  wallNow?: () => number;
}

export interface BinanceSimulatorAddress {
  port: number;
  /** `http://127.0.0.1:PORT`: the REST base (`/fapi/v1/…`). */
  restUrl: string;
  /** `ws://127.0.0.1:PORT`: append `/market/stream?streams=…`, `/private/ws/<listenKey>`. */
  wsUrl: string;
}

export const DEFAULT_BINANCE_SIM_KEY: Readonly<SimApiKey> = Object.freeze({ apiKey: 'sim-key', secretKey: 'sim-secret' });

export interface BinanceSimStats {
  requests: number;
  rejected: number;
  ordersPlaced: number;
  unknownStatus: number;
  pushes: number;
  skipped: number;
  duplicated: number;
  reordered: number;
  drops: number;
  listenKeysExpired: number;
}

/**
 * A local Binance USDⓈ-M futures peer: REST and WebSocket on one port, replaying candles. Time
 * moves with `step()` (one source bar); `play(speed)` steps in real time for demos.
 */
export class BinanceSimulator {
  readonly #options: BinanceSimulatorOptions;
  readonly #dice: FaultDice;
  #tape: MarketTape | undefined;
  #engine: TradingEngine | undefined;
  #gateway: WsGateway | undefined;
  #router: RestRouter | undefined;
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dropTimer: NodeJS.Timeout | undefined;
  readonly #rest = { requests: 0, rejected: 0, ordersPlaced: 0, unknownStatus: 0 };
  readonly #keys: SimApiKey[];

  constructor(options: BinanceSimulatorOptions) {
    this.#options = options;
    this.#dice = new FaultDice(options.faults, options.seed ?? 1);
    this.#keys = (options.keys ?? [DEFAULT_BINANCE_SIM_KEY]).map((k) => ({ ...k }));
    if (typeof options.data !== 'string') this.#build(options.data);
  }

  async start(opts: { port?: number; host?: string } = {}): Promise<BinanceSimulatorAddress> {
    if (this.#server) throw new Error('binance-sim: already started');
    if (!this.#tape) this.#build(await loadBars(this.#options.data));
    const router = this.#router as RestRouter;
    const gateway = this.#gateway as WsGateway;
    const server = createServer((req, res) => {
      router.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: -1000, msg: String(err) }));
      });
    });
    server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    this.#server = server;
    this.#dice.onChange(() => this.#armDrops());
    this.#armDrops();
    const port = (server.address() as AddressInfo).port;
    return { port, restUrl: `http://${host}:${port}`, wsUrl: `ws://${host}:${port}` };
  }

  async stop(): Promise<void> {
    this.pause();
    clearInterval(this.#dropTimer);
    await this.#gateway?.close();
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Closes `n` bars (default 1): resting orders they trade through fill, klines are pushed. Returns bars closed. */
  step(n = 1): number {
    const tape = this.#need().tape;
    let done = 0;
    for (; done < n; done++) {
      const closed = tape.advance();
      if (!closed) break;
      this.#engine?.onBarClosed(closed);
      this.#gateway?.afterStep();
    }
    return done;
  }

  /** Steps in real time, one bar per `barMs / speed` of wall time. */
  play(speed = 1): void {
    this.pause();
    const { tape } = this.#need();
    this.#timer = setInterval(
      () => {
        if (this.step(1) === 0) this.pause();
      },
      Math.max(5, tape.baseMs / speed),
    );
  }

  pause(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Simulated now: the open of the forming bar. */
  now(): number {
    return this.#need().tape.now();
  }

  price(): number {
    return this.#need().tape.price();
  }

  get ended(): boolean {
    return this.#need().tape.ended;
  }

  get bars(): readonly SimBar[] {
    return this.#need().tape.bars;
  }

  get faults(): Readonly<BinanceSimFaults> {
    return this.#dice.faults;
  }

  setFaults(partial: Partial<BinanceSimFaults>): void {
    this.#dice.set(partial);
  }

  /** Cuts WebSockets now (no close handshake); returns how many. */
  dropConnections(filter: { root?: WsRoot } = {}): number {
    return this.#gateway?.drop(filter) ?? 0;
  }

  /** Expires listen keys now: their sockets hear `listenKeyExpired` and go silent. Returns how many. */
  expireListenKeys(apiKey?: string): number {
    return this.#gateway?.expireListenKeys(apiKey) ?? 0;
  }

  connections(): WsConnectionInfo[] {
    return this.#gateway?.connections() ?? [];
  }

  /** The account behind an API key (tests read orders, positions, the wallet). */
  account(apiKey = DEFAULT_BINANCE_SIM_KEY.apiKey): SimAccountState {
    return this.#need().engine.account(apiKey);
  }

  stats(): BinanceSimStats {
    return {
      ...this.#rest,
      ...(this.#gateway?.stats ?? { pushes: 0, skipped: 0, duplicated: 0, reordered: 0, drops: 0, listenKeysExpired: 0 }),
    };
  }

  #need(): { tape: MarketTape; engine: TradingEngine } {
    if (!this.#tape || !this.#engine) throw new Error('binance-sim: data not loaded yet; call start() first');
    return { tape: this.#tape, engine: this.#engine };
  }

  #build(bars: SimBar[]): void {
    const o = this.#options;
    const tape = new MarketTape(bars, o.startAt);
    const symbols = new Map((o.symbols ?? [BTCUSDT]).map((s) => [s.symbol, s]));
    const engine = new TradingEngine(
      symbols,
      () => tape.now(),
      () => tape.price(),
      o.fees,
      o.balance,
    );
    const wallNow = o.wallNow ?? (() => systemClock.now());
    const gateway = new WsGateway(tape, engine, this.#dice, { ...DEFAULT_WS_OPTIONS, ...o.ws }, wallNow);
    this.#router = new RestRouter({
      engine,
      tape,
      faults: this.#dice,
      keys: () => this.#keys,
      limits: { ...DEFAULT_REST_LIMITS, ...o.limits },
      wallNow,
      listenKeys: {
        create: (apiKey) => gateway.createListenKey(apiKey),
        keepalive: (apiKey, key) => gateway.keepaliveListenKey(apiKey, key),
        remove: (apiKey, key) => gateway.removeListenKey(apiKey, key),
      },
      stats: this.#rest,
    });
    this.#tape = tape;
    this.#engine = engine;
    this.#gateway = gateway;
  }

  #armDrops(): void {
    clearInterval(this.#dropTimer);
    this.#dropTimer = undefined;
    const every = this.#dice.faults.dropEverySec;
    if (!this.#server || every <= 0) return;
    this.#dropTimer = setInterval(() => this.dropConnections(), every * 1000);
    this.#dropTimer.unref();
  }
}
