import { applySpotFill, applySwapFill, availableFor, hold, release } from './ledger.js';
import { isPending, type SimAccount, type SimBalance, type SimFill, type SimInstrument, type SimOrder, type SimPosition } from './model.js';

export interface TradingEngineOptions {
  instruments: SimInstrument[];
  /** Simulated now (ms). */
  now(): number;
  /** Last price of an instrument. */
  price(instId: string): number;
  /** Fee rates (positive fractions). Default maker 0.0008, taker 0.001. */
  fees?: { maker: number; taker: number };
  /** Split each fill into this many parts (partially_filled … filled). Default 1. */
  fillParts?: number;
}

export interface TradingListener {
  /** An order changed; `fill` is this update's own fill, if it is one. */
  onOrder(order: SimOrder, fill: SimFill | undefined): void;
  onBalance(uid: string, ccys: string[]): void;
  onPosition(uid: string, instIds: string[]): void;
}

/**
 * The engine's accounts as plain JSON: what a venue keeps across a restart. Maps become entry
 * lists; the order-id counter is a decimal string (it is a bigint).
 */
export interface EngineSnapshot {
  version: 1;
  nextOrdId: string;
  nextTradeId: number;
  step: number;
  accounts: Array<{
    uid: string;
    balances: Array<[string, SimBalance]>;
    orders: Array<[string, SimOrder]>;
    latestByClOrdId: Array<[string, string]>;
    positions: Array<[string, SimPosition]>;
  }>;
}

export type PlaceResult = { ok: true; order: SimOrder } | { ok: false; sCode: string; sMsg: string; clOrdId: string };

const CL_ORD_ID = /^[A-Za-z0-9]{1,32}$/;
const ORD_TYPES = new Set(['market', 'limit', 'post_only', 'ioc', 'fok']);

/**
 * Orders against the candle stream. Placement validates like OKX (sCode per failure) and holds
 * funds; each step of the replay then fills what the new price reaches: market orders at that
 * price as taker, resting limits at their own price as maker, marketable limits/IOC/FOK at the
 * new price as taker.
 */
export class TradingEngine {
  readonly instruments = new Map<string, SimInstrument>();
  private readonly accounts = new Map<string, SimAccount>();
  private readonly listeners = new Set<TradingListener>();
  private nextOrdId = 600_000_000_000_000_000n;
  private nextTradeId = 100_000_000;
  private step = 0;

  constructor(private readonly options: TradingEngineOptions) {
    for (const inst of options.instruments) this.instruments.set(inst.instId, inst);
  }

  listen(listener: TradingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  openAccount(uid: string, balances: Record<string, number>): SimAccount {
    const account: SimAccount = {
      uid,
      balances: new Map(Object.entries(balances).map(([ccy, cash]) => [ccy, { cash, frozen: 0 }])),
      orders: new Map(),
      latestByClOrdId: new Map(),
      positions: new Map(),
    };
    this.accounts.set(uid, account);
    return account;
  }

  account(uid: string): SimAccount | undefined {
    return this.accounts.get(uid);
  }

  snapshot(): EngineSnapshot {
    return {
      version: 1,
      nextOrdId: this.nextOrdId.toString(),
      nextTradeId: this.nextTradeId,
      step: this.step,
      accounts: [...this.accounts.values()].map((a) => ({
        uid: a.uid,
        balances: [...a.balances].map(([k, v]) => [k, { ...v }]),
        orders: [...a.orders].map(([k, v]) => [k, { ...v }]),
        latestByClOrdId: [...a.latestByClOrdId],
        positions: [...a.positions].map(([k, v]) => [k, { ...v }]),
      })),
    };
  }

  /**
   * Takes the accounts back from a snapshot (a restart of the venue): balances, resting orders and
   * positions as they were, and counters that never hand out an id twice. Order steps are rebased
   * so that a resting order is judged at the next price, as before the restart.
   */
  restore(snapshot: EngineSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`unknown simulator account snapshot version ${String(snapshot.version)}`);
    const offset = this.step - snapshot.step;
    for (const a of snapshot.accounts) {
      this.accounts.set(a.uid, {
        uid: a.uid,
        balances: new Map(a.balances),
        orders: new Map(a.orders.map(([k, o]) => [k, { ...o, placedStep: o.placedStep + offset }])),
        latestByClOrdId: new Map(a.latestByClOrdId),
        positions: new Map(a.positions),
      });
    }
    const ordId = BigInt(snapshot.nextOrdId);
    if (ordId > this.nextOrdId) this.nextOrdId = ordId;
    if (snapshot.nextTradeId > this.nextTradeId) this.nextTradeId = snapshot.nextTradeId;
  }

  place(uid: string, body: Record<string, unknown>): PlaceResult {
    const account = this.accounts.get(uid);
    const clOrdId = typeof body.clOrdId === 'string' ? body.clOrdId : '';
    const fail = (sCode: string, sMsg: string): PlaceResult => ({ ok: false, sCode, sMsg, clOrdId });
    if (!account) return fail('50114', 'Invalid authorization');
    const instId = str(body.instId);
    if (!instId) return fail('50014', 'Parameter instId cannot be empty');
    const inst = this.instruments.get(instId);
    if (!inst) return fail('51001', "Instrument ID doesn't exist.");
    const side = str(body.side);
    if (side !== 'buy' && side !== 'sell') return fail('51000', 'Parameter side error');
    const ordType = str(body.ordType);
    if (!ORD_TYPES.has(ordType)) return fail('51000', 'Parameter ordType error');
    const tdMode = str(body.tdMode);
    const tdOk = inst.instType === 'SPOT' ? tdMode === 'cash' : tdMode === 'cross' || tdMode === 'isolated';
    if (!tdOk) return fail('51000', 'Parameter tdMode error');
    if (clOrdId !== '' && !CL_ORD_ID.test(clOrdId)) return fail('51000', 'Parameter clOrdId error');
    if (clOrdId !== '') {
      const prior = account.orders.get(account.latestByClOrdId.get(clOrdId) ?? '');
      if (prior && isPending(prior)) return fail('51016', 'Duplicated clOrdId');
    }
    const sz = Number(body.sz);
    if (!(sz > 0)) return fail('51000', 'Parameter sz error');
    const px = body.px === undefined || body.px === '' ? undefined : Number(body.px);
    if (ordType !== 'market' && !(px !== undefined && px > 0)) return fail('51000', 'Parameter px error');
    const last = this.options.price(instId);
    const tgtCcy = str(body.tgtCcy) || (inst.instType === 'SPOT' && ordType === 'market' && side === 'buy' ? 'quote_ccy' : 'base_ccy');
    const quoteSized = inst.instType === 'SPOT' && ordType === 'market' && tgtCcy === 'quote_ccy';
    const baseSz = quoteSized ? sz / last : sz;
    if (baseSz < Number(inst.minSz)) return fail('51020', 'Your order should meet or exceed the minimum order amount.');
    if (!quoteSized && !isMultiple(sz, Number(inst.lotSz))) return fail('51121', 'Order quantity must be a multiple of the lot size.');

    const reduceOnly = body.reduceOnly === true || body.reduceOnly === 'true';
    if (reduceOnly && inst.instType === 'SWAP') {
      const pos = account.positions.get(instId)?.pos ?? 0;
      if (pos === 0 || pos > 0 === (side === 'buy'))
        return fail('51169', "Order failed because you don't have any positions in this direction.");
    }
    const holdSpec = this.holdFor(inst, side, quoteSized, sz, px ?? last, reduceOnly);
    if (holdSpec.amount > availableFor(account, holdSpec.ccy, this.instruments) + 1e-9) {
      return fail('51008', `Order failed. Insufficient ${holdSpec.ccy} balance in account.`);
    }

    const now = this.options.now();
    const order: SimOrder = {
      uid,
      ordId: String(this.nextOrdId++),
      clOrdId,
      tag: str(body.tag),
      instId,
      instType: inst.instType,
      side,
      ordType,
      tdMode,
      posSide: inst.instType === 'SWAP' ? 'net' : '',
      px,
      sz,
      tgtCcy: inst.instType === 'SPOT' && ordType === 'market' ? tgtCcy : '',
      reduceOnly,
      state: 'live',
      accFillSz: 0,
      fillNotional: 0,
      fee: 0,
      feeCcy: feeCcyFor(inst, side),
      cancelSource: '',
      lastFill: undefined,
      cTime: now,
      uTime: now,
      placedStep: this.step,
      marketableAtPlacement: px === undefined || (side === 'buy' ? px >= last : px <= last),
      frozenCcy: holdSpec.ccy,
      frozen: 0,
    };
    hold(account, order, holdSpec.amount);
    account.orders.set(order.ordId, order);
    if (clOrdId) account.latestByClOrdId.set(clOrdId, order.ordId);
    this.emitOrder(order, undefined);
    if (holdSpec.amount > 0) this.emitBalance(uid, [holdSpec.ccy]);
    return { ok: true, order };
  }

  cancel(uid: string, ref: { instId?: unknown; ordId?: unknown; clOrdId?: unknown }): PlaceResult {
    const clOrdId = str(ref.clOrdId);
    const found = this.find(uid, ref);
    if (!found || !isPending(found))
      return {
        ok: false,
        sCode: '51400',
        sMsg: 'Order cancellation failed as the order has been filled, canceled or does not exist.',
        clOrdId,
      };
    this.finishCanceled(found, '1');
    return { ok: true, order: found };
  }

  /** By ordId (wins) or the latest order with clOrdId; undefined when unknown. */
  find(uid: string, ref: { instId?: unknown; ordId?: unknown; clOrdId?: unknown }): SimOrder | undefined {
    const account = this.accounts.get(uid);
    if (!account) return undefined;
    const ordId = str(ref.ordId) || account.latestByClOrdId.get(str(ref.clOrdId)) || '';
    const order = account.orders.get(ordId);
    return order && (!ref.instId || order.instId === ref.instId) ? order : undefined;
  }

  pending(uid: string, filter: { instType?: string; instId?: string; ordType?: string; state?: string }): SimOrder[] {
    const orders = [...(this.accounts.get(uid)?.orders.values() ?? [])].filter(isPending);
    const ordTypes = filter.ordType ? new Set(filter.ordType.split(',')) : undefined;
    return orders
      .filter((o) => (!filter.instType || o.instType === filter.instType) && (!filter.instId || o.instId === filter.instId))
      .filter((o) => (!ordTypes || ordTypes.has(o.ordType)) && (!filter.state || o.state === filter.state))
      .sort((a, b) => (BigInt(b.ordId) > BigInt(a.ordId) ? 1 : -1));
  }

  /** After the replay moved one step: evaluate every pending order against the new prices. */
  onStep(): void {
    this.step++;
    for (const account of this.accounts.values()) {
      for (const order of [...account.orders.values()]) {
        if (!isPending(order) || order.placedStep >= this.step) continue;
        this.evaluate(account, order);
      }
    }
  }

  private evaluate(account: SimAccount, order: SimOrder): void {
    const price = this.options.price(order.instId);
    const firstLook = order.placedStep === this.step - 1;
    const crosses = order.px === undefined || (order.side === 'buy' ? price <= order.px : price >= order.px);
    if (order.ordType === 'post_only' && order.marketableAtPlacement && firstLook) {
      this.finishCanceled(order, '31');
    } else if (order.ordType === 'ioc' || order.ordType === 'fok') {
      if (crosses) this.fill(account, order, price, 'T');
      else this.finishCanceled(order, order.ordType === 'ioc' ? '14' : '13');
    } else if (order.ordType === 'market') {
      this.fill(account, order, price, 'T');
    } else if (crosses) {
      const taker = order.marketableAtPlacement && firstLook;
      this.fill(account, order, taker ? price : (order.px as number), taker ? 'T' : 'M');
    }
  }

  private fill(account: SimAccount, order: SimOrder, price: number, execType: 'T' | 'M'): void {
    const inst = this.instruments.get(order.instId) as SimInstrument;
    const quoteSized = order.tgtCcy === 'quote_ccy';
    const total = quoteSized ? order.sz / price : order.sz;
    const remaining = total - order.accFillSz;
    const parts = splitSize(remaining, Number(inst.lotSz), this.options.fillParts ?? 1);
    const rate = execType === 'M' ? (this.options.fees?.maker ?? 0.0008) : (this.options.fees?.taker ?? 0.001);
    const ccys = new Set<string>();
    for (const [i, size] of parts.entries()) {
      const notional = inst.instType === 'SWAP' ? size * Number(inst.ctVal) * price : size * price;
      const feeAmount = inst.instType === 'SPOT' && order.side === 'buy' ? size * rate : notional * rate;
      const fill: SimFill = {
        tradeId: String(this.nextTradeId++),
        fillPx: price,
        fillSz: size,
        fillFee: -feeAmount,
        fillFeeCcy: order.feeCcy,
        fillTime: this.options.now(),
        execType,
      };
      order.accFillSz += size;
      order.fillNotional += size * price;
      order.fee -= feeAmount;
      order.lastFill = fill;
      order.uTime = fill.fillTime;
      const last = i === parts.length - 1;
      order.state = last ? 'filled' : 'partially_filled';
      for (const ccy of inst.instType === 'SPOT'
        ? applySpotFill(account, inst, order, fill, last)
        : applySwapFill(account, inst, order, fill, last))
        ccys.add(ccy);
      this.emitOrder(order, fill);
    }
    this.emitBalance(account.uid, [...ccys]);
    if (inst.instType === 'SWAP') this.emitPosition(account.uid, [order.instId]);
  }

  private finishCanceled(order: SimOrder, cancelSource: string): void {
    const account = this.accounts.get(order.uid) as SimAccount;
    order.state = 'canceled';
    order.cancelSource = cancelSource;
    order.uTime = this.options.now();
    const ccy = order.frozenCcy;
    const released = release(account, order);
    this.emitOrder(order, undefined);
    if (released > 0) this.emitBalance(order.uid, [ccy]);
  }

  private holdFor(inst: SimInstrument, side: string, quoteSized: boolean, sz: number, px: number, reduceOnly: boolean) {
    if (inst.instType === 'SWAP') {
      return { ccy: inst.settleCcy, amount: reduceOnly ? 0 : (sz * Number(inst.ctVal) * px) / Number(inst.lever) };
    }
    if (side === 'buy') return { ccy: inst.quoteCcy, amount: quoteSized ? sz : sz * px };
    return { ccy: inst.baseCcy, amount: sz };
  }

  private emitOrder(order: SimOrder, fill: SimFill | undefined): void {
    for (const l of this.listeners) l.onOrder(order, fill);
  }

  private emitBalance(uid: string, ccys: string[]): void {
    for (const l of this.listeners) l.onBalance(uid, ccys);
  }

  private emitPosition(uid: string, instIds: string[]): void {
    for (const l of this.listeners) l.onPosition(uid, instIds);
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function isMultiple(value: number, step: number): boolean {
  const ratio = value / step;
  return Math.abs(ratio - Math.round(ratio)) < 1e-6;
}

function feeCcyFor(inst: SimInstrument, side: string): string {
  if (inst.instType === 'SWAP') return inst.settleCcy;
  return side === 'buy' ? inst.baseCcy : inst.quoteCcy;
}

/** `parts` roughly equal pieces on the lot grid; the last takes the remainder. */
function splitSize(total: number, lot: number, parts: number): number[] {
  if (parts <= 1 || total <= lot) return [total];
  const piece = Math.max(lot, Math.floor(total / parts / lot) * lot);
  const out: number[] = [];
  let left = total;
  for (let i = 0; i < parts - 1 && left - piece > lot / 2; i++) {
    out.push(piece);
    left -= piece;
  }
  out.push(left);
  return out;
}
