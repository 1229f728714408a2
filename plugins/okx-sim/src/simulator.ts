import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimAuth, type SimCredential } from './auth.js';
import { emptyStats, type SimContext, type SimStats } from './context.js';
import { SimError, SimErrorCode } from './errors.js';
import { FaultInjector, type SimFaults } from './faults.js';
import { loadCandles, type SimDataSource } from './market/data-source.js';
import { ReplayCursor } from './market/replay.js';
import { MarketTape } from './market/tape.js';
import { RestRouter } from './rest/router.js';
import { type EngineSnapshot, TradingEngine } from './trading/engine.js';
import { defaultInstruments, type SimAccount, type SimInstrument } from './trading/model.js';
import { type ConnFilter, WsGateway } from './ws/gateway.js';

export interface OkxSimulatorOptions {
  /** 1m candles (array or CSV / CSV.gz path). Other bar sizes work too; channels below it are refused. */
  data: SimDataSource;
  /** Spot instrument the data belongs to; a `-SWAP` twin is listed beside it. Default `BTC-USDT`. */
  instId?: string;
  /** Replaces the default instrument list (all priced from the same data). */
  instruments?: SimInstrument[];
  /** `manual` (default): time moves only through step()/stepBars(). `realtime`: at `speed`× once started. */
  clock?: 'manual' | 'realtime';
  /** Replay speed for `realtime` (1 = one simulated minute per real minute). Default 1. */
  speed?: number;
  /** Where the replay starts (ms); everything before it is history. Default: the first bar. */
  startAt?: number;
  /** Steps per source bar (intrabar updates). Default 4: open, first extreme, second extreme, close. */
  stepsPerBar?: number;
  /** Accepted keys; default one demo key `sim-key`/`sim-secret`/`sim-pass`. */
  credentials?: SimCredential[];
  /** Starting balances of every account. Default 100,000 USDT and 1 BTC. */
  balances?: Record<string, number>;
  fees?: { maker: number; taker: number };
  fillParts?: number;
  faults?: Partial<SimFaults>;
  /** Seed of the fault dice. Default 1. */
  seed?: number;
  /** The WS side plays the demo host (default true). */
  wsDemo?: boolean;
  historyLagMs?: number;
  /** Enforce OKX's REST quotas (50011). Default true. */
  rateLimits?: boolean;
  /** 4004 idle close after this long (default 30,000; 0 = never). */
  idleTimeoutMs?: number;
  idleRule?: 'both' | 'client';
  /** Real clock for signatures and idle rules. Default Date.now. */
  wallNow?: () => number;
  /**
   * Where accounts are kept across restarts, as a venue keeps them. Absent: every start opens
   * fresh accounts. With a store, start() takes the saved accounts back and every change is saved.
   */
  accountStore?: SimAccountStore;
}

/** Keeps the simulator's accounts (balances, orders, positions) between runs. */
export interface SimAccountStore {
  load(): Promise<EngineSnapshot | undefined>;
  save(snapshot: EngineSnapshot): Promise<void>;
}

export interface OkxSimulatorAddress {
  port: number;
  /** `http://127.0.0.1:PORT` — the REST base URL. */
  restUrl: string;
  /** `ws://127.0.0.1:PORT` — append `/ws/v5/{public,private,business}`. */
  wsUrl: string;
  wsUrls: { public: string; private: string; business: string };
}

export const DEFAULT_SIM_CREDENTIAL: Readonly<SimCredential> = Object.freeze({
  apiKey: 'sim-key',
  secretKey: 'sim-secret',
  passphrase: 'sim-pass',
  demo: true,
});

/**
 * A local OKX V5 peer: REST and WebSocket on one port, replaying candles. Tests drive time with
 * `step()`; the CLI runs it in real time at `speed`×.
 */
export class OkxSimulator {
  private readonly options: OkxSimulatorOptions;
  private ctx: SimContext | undefined;
  private gateway: WsGateway | undefined;
  private server: Server | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private faultTimers: NodeJS.Timeout[] = [];
  private readonly faultInjector: FaultInjector;
  private readonly endListeners = new Set<() => void>();
  private stopSaving: (() => void) | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(options: OkxSimulatorOptions) {
    this.options = options;
    this.faultInjector = new FaultInjector(options.faults, options.seed ?? 1);
    if (typeof options.data !== 'string') this.ctx = this.buildContext(new MarketTape(options.data));
  }

  /** Loads data (when a path was given), binds the port (0 = any free one) and starts serving. */
  async start(opts: { port?: number; host?: string } = {}): Promise<OkxSimulatorAddress> {
    if (this.server) throw new SimError(SimErrorCode.State, 'simulator already started');
    if (!this.ctx) this.ctx = this.buildContext(new MarketTape(await loadCandles(this.options.data)));
    const ctx = this.ctx;
    await this.attachAccountStore(ctx);
    const router = new RestRouter(ctx);
    this.gateway = new WsGateway(ctx);
    const gateway = this.gateway;
    const server = createServer((req, res) => {
      router.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: '50026', msg: `System error: ${String(err)}`, data: [] }));
      });
    });
    server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    this.server = server;
    this.faultInjector.onChange(() => this.armFaultTimers());
    this.armFaultTimers();
    if (this.options.clock === 'realtime') this.play();
    const port = (server.address() as AddressInfo).port;
    const wsUrl = `ws://${host}:${port}`;
    return {
      port,
      restUrl: `http://${host}:${port}`,
      wsUrl,
      wsUrls: { public: `${wsUrl}/ws/v5/public`, private: `${wsUrl}/ws/v5/private`, business: `${wsUrl}/ws/v5/business` },
    };
  }

  async stop(): Promise<void> {
    this.pause();
    this.stopSaving?.();
    this.stopSaving = undefined;
    await this.saveAccounts();
    for (const t of this.faultTimers) clearInterval(t);
    this.faultTimers = [];
    await this.gateway?.close();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Advances `n` steps (default 1) and sends what they produce; returns the steps taken. */
  step(n = 1): number {
    const ctx = this.context();
    let done = 0;
    for (; done < n; done++) {
      if (!ctx.cursor.advance()) break;
      this.gateway?.afterStep();
      ctx.engine.onStep();
      if (ctx.cursor.ended) for (const l of this.endListeners) l();
    }
    return done;
  }

  /** Advances `n` whole source bars. */
  stepBars(n = 1): number {
    return this.step(n * this.context().cursor.stepsPerBar);
  }

  /** Advances until simulated time reaches `ts` (or the data ends). */
  runUntil(ts: number): number {
    let steps = 0;
    while (!this.context().cursor.ended && this.now() < ts) steps += this.step(1);
    return steps;
  }

  /** Real-time replay at `speed`× (what the CLI uses). */
  play(speed = this.options.speed ?? 1): void {
    this.pause();
    const ctx = this.context();
    const stepMs = ctx.tape.baseMs / ctx.cursor.stepsPerBar / speed;
    const startedAt = Date.now();
    let taken = 0;
    const tick = () => {
      const due = Math.floor((Date.now() - startedAt) / stepMs) - taken;
      taken += this.step(Math.min(due, 10_000));
      if (ctx.cursor.ended) this.pause();
    };
    this.replayTimer = setInterval(tick, Math.max(5, Math.min(1000, stepMs)));
  }

  pause(): void {
    clearInterval(this.replayTimer);
    this.replayTimer = undefined;
  }

  onEnd(listener: () => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** Simulated now (ms). */
  now(): number {
    return this.context().cursor.now();
  }

  price(): number {
    return this.context().cursor.price();
  }

  get ended(): boolean {
    return this.context().cursor.ended;
  }

  get tape(): MarketTape {
    return this.context().tape;
  }

  get faults(): Readonly<SimFaults> {
    return this.faultInjector.faults;
  }

  setFaults(partial: Partial<SimFaults>): void {
    this.faultInjector.set(partial);
  }

  /**
   * Runs `hook` once, for the next request to `path` (`/api/v5/account/positions`), after its answer
   * is computed and before it is sent; the reply waits for the hook. A test's way to make the venue
   * change between answering and the answer arriving.
   */
  beforeReply(path: string, hook: () => unknown): void {
    const hooks = this.context().replyHooks;
    hooks.set(path, [...(hooks.get(path) ?? []), hook]);
  }

  /** Sends the 64008 notice now; the sockets close after `graceMs`. Returns how many got it. */
  sendNotice(filter: ConnFilter = {}, graceMs?: number): number {
    return this.gateway?.sendNotice(filter, graceMs) ?? 0;
  }

  /** Cuts WebSockets now (no close handshake). Returns how many. */
  dropConnections(filter: ConnFilter = {}): number {
    return this.gateway?.drop(filter) ?? 0;
  }

  connections() {
    return this.gateway?.connections() ?? [];
  }

  stats(): SimStats {
    return { ...this.context().stats };
  }

  credentials(): SimCredential[] {
    return this.context().auth.credentials();
  }

  /** The account behind an API key (tests inspect balances and orders). */
  account(apiKey = DEFAULT_SIM_CREDENTIAL.apiKey): SimAccount | undefined {
    const cred = this.context()
      .auth.credentials()
      .find((c) => c.apiKey === apiKey);
    return cred ? this.context().engine.account(cred.uid) : undefined;
  }

  /** Restores saved accounts and saves every change shortly after it (and at stop). */
  private async attachAccountStore(ctx: SimContext): Promise<void> {
    const store = this.options.accountStore;
    if (!store) return;
    const saved = await store.load();
    if (saved) ctx.engine.restore(saved);
    const schedule = () => {
      if (this.saveTimer) return;
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        void this.saveAccounts();
      }, 50);
      this.saveTimer.unref();
    };
    this.stopSaving = ctx.engine.listen({ onOrder: schedule, onBalance: schedule, onPosition: schedule });
  }

  /** Saves now (one save at a time, in order). */
  async saveAccounts(): Promise<void> {
    const store = this.options.accountStore;
    if (!store || !this.ctx) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const snapshot = this.ctx.engine.snapshot();
    this.saving = this.saving.then(() => store.save(snapshot)).catch(() => undefined);
    await this.saving;
  }

  private context(): SimContext {
    if (!this.ctx) throw new SimError(SimErrorCode.State, 'simulator data not loaded yet: call start() first');
    return this.ctx;
  }

  private buildContext(tape: MarketTape): SimContext {
    const o = this.options;
    const cursor = new ReplayCursor(tape, o.stepsPerBar ?? 4, o.startAt);
    const instruments = o.instruments ?? defaultInstruments(o.instId ?? 'BTC-USDT');
    const engine = new TradingEngine({
      instruments,
      now: () => cursor.now(),
      price: () => cursor.price(),
      fees: o.fees,
      fillParts: o.fillParts,
    });
    const wallNow = o.wallNow ?? Date.now;
    const auth = new SimAuth(o.credentials ?? [{ ...DEFAULT_SIM_CREDENTIAL }], wallNow);
    for (const cred of auth.credentials()) engine.openAccount(cred.uid, o.balances ?? { USDT: 100_000, BTC: 1 });
    return {
      tape,
      cursor,
      engine,
      auth,
      faults: this.faultInjector,
      stats: emptyStats(),
      wallNow,
      wsDemo: o.wsDemo ?? true,
      historyLagMs: o.historyLagMs ?? 0,
      enforceRateLimits: o.rateLimits ?? true,
      idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
      idleRule: o.idleRule ?? 'both',
      replyHooks: new Map(),
    };
  }

  private armFaultTimers(): void {
    for (const t of this.faultTimers) clearInterval(t);
    this.faultTimers = [];
    if (!this.server) return;
    const f = this.faultInjector.faults;
    if (f.dropEverySec > 0) this.faultTimers.push(setInterval(() => this.dropConnections(), f.dropEverySec * 1000));
    if (f.noticeEverySec > 0) this.faultTimers.push(setInterval(() => this.sendNotice(), f.noticeEverySec * 1000));
    for (const t of this.faultTimers) t.unref();
  }
}
