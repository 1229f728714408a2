import {
  type AdapterDefinition,
  AdapterPort,
  type Balance,
  Buckets,
  type Bus,
  CandleContract,
  type ExecutionAdapter,
  type InstrumentInfo,
  isKokexError,
  type OrderStreamEvents,
  type PlaceOrderRequest,
  type PlaceOrderResult,
  type Position,
  Streams,
  type Subscription,
  subject,
  subjectFilter,
  timeframeMs,
  type VenueOrder,
  type VenueOrderUpdate,
} from '@kokex/core';
import { emptyPaperState, PaperBook, type PaperState, venueOrderOf } from './book.js';
import { DEFAULT_CONTRACTS, type PaperConfig, type PaperOptions, paperConfigSchema } from './config.js';
import { PaperInstrumentUnavailableError, PaperNoBusError, PaperStateError } from './errors.js';

/** The instrument rules of the venue paper stands in for (`AdapterContext.instrument`, lent by the executor). */
export type InstrumentRules = (inst: string) => Promise<InstrumentInfo>;

type Contract = { contractValue: number; lotSize: number };

const encoder = new TextEncoder();

/**
 * core's `ExecutionAdapter` for paper trading. Orders never leave KOKEX: they fill against the
 * closed candles the feed stores (`kokex.md.candle.{venue}.{inst}.{tf}`, heard on core NATS as they
 * are stored), by the rules of `PaperBook`, with the plan's fees and slippage. The account is kept
 * in `kokex-positions` under `paper.{account}` after every change, so an executor restart finds its
 * orders, position and cash (and a repeated client order id finds its order). It talks to NATS only
 * through the bus the host lends it (the executor's connection, with the executor's permissions);
 * it never opens a connection of its own, and never closes the one it was lent.
 *
 * Contract values and lots come from the instrument rules of the plan's venue (`InstrumentInfo`
 * from its exchange adapter, lent as `instrument`), asked once per instrument before its first
 * order; `instruments` in the configuration overrides them. Without lent rules (an adapter made by
 * hand), or when OKX cannot be reached, OKX's common linear swaps on `okx` candles (DEFAULT_CONTRACTS)
 * stand in; spot ids (`BTC-USDT`) are 1; anything else is refused rather than guessed.
 */
export class PaperExecutionAdapter implements ExecutionAdapter {
  readonly venue = 'paper';
  readonly #listeners = new Set<OrderStreamEvents>();
  #book: PaperBook | undefined;
  #ready: Promise<PaperBook> | undefined;
  #candleSub: { unsubscribe(): void } | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  /** Contracts learnt from the instrument rules, by instrument. */
  readonly #contracts = new Map<string, Contract>();

  constructor(
    readonly config: PaperConfig,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
    private readonly rules?: InstrumentRules,
  ) {}

  get stateKey(): string {
    return `paper.${this.config.account}`;
  }

  async placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderResult> {
    const book = await this.#open();
    const refused = await this.#learn(request.inst);
    if (refused) return { clientOrderId: request.clientOrderId, venueOrderId: '', accepted: false, duplicate: false, reason: refused };
    const last = book.state.lastPrices[request.inst] ?? (await this.#lastClose(request.inst));
    const { result, update } = book.place(request, last, this.now());
    if (update) await this.#changed([update]);
    return result;
  }

  async cancelOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<void> {
    const update = (await this.#open()).cancel(ref, this.now());
    if (update) await this.#changed([update]);
  }

  async getOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<VenueOrder | undefined> {
    const order = (await this.#open()).find(ref);
    return order ? venueOrderOf(order) : undefined;
  }

  async openOrders(inst?: string): Promise<VenueOrder[]> {
    return (await this.#open()).open(inst).map(venueOrderOf);
  }

  async positions(inst?: string): Promise<Position[]> {
    return (await this.#open()).positions(inst);
  }

  async balances(): Promise<Balance[]> {
    return (await this.#open()).balances(this.config.quoteCcy);
  }

  async subscribeOrders(events: OrderStreamEvents): Promise<Subscription> {
    await this.#open();
    this.#listeners.add(events);
    return { close: async () => void this.#listeners.delete(events) };
  }

  async close(): Promise<void> {
    this.#candleSub?.unsubscribe();
    this.#candleSub = undefined;
    await this.#writes.catch(() => undefined);
    this.#ready = undefined;
  }

  /** Loads the account from KV (or opens it with the starting balance) and starts hearing candles. */
  #open(): Promise<PaperBook> {
    this.#ready ??= (async () => {
      const bus = this.bus;
      const entry = await (await bus.kv(Buckets.positions)).get(this.stateKey);
      let state: PaperState;
      try {
        state = entry?.operation === 'PUT' && entry.length > 0 ? entry.json<PaperState>() : emptyPaperState(this.config.balance);
      } catch (err) {
        throw new PaperStateError(this.stateKey, err);
      }
      const book = new PaperBook(state, this.config, (inst) => this.#contract(inst), this.config.keepFinished);
      // What the account already holds is valued with its instrument's rules from the start.
      const held = new Set([...Object.keys(state.positions), ...state.orders.map((o) => o.inst)]);
      await Promise.all([...held].map((inst) => this.#learn(inst).catch(() => undefined)));
      this.#book = book;
      const { venue, tf } = this.config.candles;
      this.#candleSub = bus.nc.subscribe(subjectFilter('candle', { venue, tf }), {
        callback: (err, msg) => {
          if (!err) this.#onCandle(msg.data);
        },
      });
      return book;
    })();
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  /** The contract of an instrument as far as it is known now (the book asks synchronously). */
  #contract(inst: string): Contract | undefined {
    const spec = this.config.instruments[inst] ?? this.#contracts.get(inst);
    if (spec) return spec;
    if (!this.rules && this.config.candles.venue === 'okx' && DEFAULT_CONTRACTS[inst]) return DEFAULT_CONTRACTS[inst];
    return inst.split('-').length === 2 ? { contractValue: 1, lotSize: 0 } : undefined;
  }

  /**
   * Asks the instrument rules for an instrument not known yet. Resolves with a refusal when the
   * venue says it does not list it; throws a retryable error when the rules could not be reached.
   */
  async #learn(inst: string): Promise<string | undefined> {
    if (!this.rules || this.config.instruments[inst] || this.#contracts.has(inst)) return undefined;
    let info: InstrumentInfo;
    try {
      info = await this.rules(inst);
    } catch (err) {
      if (isKokexError(err) && !err.retryable) return `${inst}: ${(err as Error).message}`;
      // OKX unreachable: its published value of a common linear swap stands in; anything else waits for the venue.
      const known = this.config.candles.venue === 'okx' ? DEFAULT_CONTRACTS[inst] : undefined;
      if (!known) throw new PaperInstrumentUnavailableError(inst, err);
      this.#contracts.set(inst, known);
      return undefined;
    }
    if (!(Number.isFinite(info.contractValue) && info.contractValue > 0))
      return `${inst}: the venue lists contract value ${info.contractValue}, not a positive number`;
    const lotSize = Number.isFinite(info.lotSize) && info.lotSize > 0 ? info.lotSize : 0;
    this.#contracts.set(inst, { contractValue: info.contractValue, lotSize });
    return undefined;
  }

  /** The newest stored close, for an order on an instrument no candle has been heard for since the start. */
  async #lastClose(inst: string): Promise<number | undefined> {
    const { venue, tf } = this.config.candles;
    const msg = await this.bus.last(subject('candle', { venue, inst, tf }), Streams.candles).catch(() => undefined);
    return msg ? CandleContract.decode(msg.data).data.close : undefined;
  }

  #onCandle(data: Uint8Array): void {
    const book = this.#book;
    if (!book) return;
    let candle: ReturnType<typeof CandleContract.decode>['data'];
    try {
      candle = CandleContract.decode(data).data;
    } catch {
      return;
    }
    if (!candle.confirmed) return;
    const updates = book.onCandle(candle, timeframeMs(candle.tf), this.now());
    void this.#changed(updates).catch((err: unknown) => {
      for (const l of this.#listeners) l.onError?.(err);
    });
  }

  /** Stores the account, then tells the listeners; writes go one after another, in order. */
  async #changed(updates: VenueOrderUpdate[]): Promise<void> {
    const book = this.#book;
    const bus = this.bus;
    if (!book) return;
    const text = JSON.stringify(book.state);
    const write = this.#writes.then(async () => (await bus.kv(Buckets.positions)).put(this.stateKey, encoder.encode(text)));
    this.#writes = write.catch(() => undefined);
    await write;
    for (const update of updates) for (const l of this.#listeners) l.onOrder(update);
  }
}

export function createPaperExecutionAdapter(
  options: PaperOptions,
  bus: Bus,
  now?: () => number,
  rules?: InstrumentRules,
): PaperExecutionAdapter {
  return new PaperExecutionAdapter(paperConfigSchema.parse(options), bus, now, rules);
}

/**
 * `registry.resolve('execution', 'paper', {account, candles: {venue, tf}, …}, {bus, instrument})`:
 * the host lends the bus, and the instrument rules of the plan's venue.
 */
export const paperExecutionAdapter: AdapterDefinition<PaperExecutionAdapter> = {
  port: AdapterPort.execution,
  name: 'paper',
  description: 'paper trading: fills against the closed candles on the bus, with fees and slippage from the plan',
  configSchema: paperConfigSchema,
  create: (config, context) => {
    const parsed = config as PaperConfig;
    if (!context?.bus) throw new PaperNoBusError(parsed.account);
    return new PaperExecutionAdapter(parsed, context.bus, Date.now, context.instrument);
  },
};
