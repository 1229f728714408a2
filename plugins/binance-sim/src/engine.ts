import { dec } from './market.js';

/** A USDⓈ-M symbol's listing: the filters of exchangeInfo. */
export interface SimSymbol {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: number;
  stepSize: number;
  minQty: number;
  maxQty: number;
  /** MARKET_LOT_SIZE maxQty (often below LOT_SIZE's). */
  marketMaxQty: number;
  minNotional: number;
  pricePrecision: number;
  quantityPrecision: number;
}

export const BTCUSDT: Readonly<SimSymbol> = Object.freeze({
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  tickSize: 0.1,
  stepSize: 0.001,
  minQty: 0.001,
  maxQty: 1000,
  marketMaxQty: 120,
  minNotional: 100,
  pricePrecision: 2,
  quantityPrecision: 3,
});

export type SimOrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';

export interface SimOrder {
  orderId: number;
  symbol: string;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'MARKET';
  timeInForce: string;
  price: number;
  origQty: number;
  executedQty: number;
  cumQuote: number;
  status: SimOrderStatus;
  reduceOnly: boolean;
  updateTime: number;
  time: number;
}

export interface SimPosition {
  symbol: string;
  amount: number;
  entryPrice: number;
  realized: number;
}

export interface SimAccountState {
  apiKey: string;
  wallet: number;
  leverage: Map<string, number>;
  orders: Map<number, SimOrder>;
  positions: Map<string, SimPosition>;
}

/** What the engine tells the user-data stream: Binance's event payloads, ready to send. */
export type AccountEvent = Record<string, unknown>;

/** A refusal with Binance's code and text; the router answers it with HTTP 400. */
export class BinanceReject extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly status = 400,
  ) {
    super(msg);
  }
}

const TERMINAL = new Set<SimOrderStatus>(['FILLED', 'CANCELED', 'EXPIRED']);
const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

function offGrid(value: number, step: number, base = 0): boolean {
  if (step <= 0) return false;
  const n = (value - base) / step;
  return Math.abs(n - Math.round(n)) > 1e-6;
}

/**
 * Accounts in one-way mode (positionSide BOTH), cross margin, USDT: orders, fills and positions.
 * MARKET orders fill at once at the last price (taker fee); LIMIT orders that cross fill at once
 * at the last price, others rest and fill at their price when a closing bar trades through it
 * (maker fee). Times are the simulator's (replay) time.
 */
export class TradingEngine {
  readonly #accounts = new Map<string, SimAccountState>();
  #nextOrderId = 8_389_765_000;
  #nextTradeId = 5_091_230_000;
  readonly #listeners = new Set<(apiKey: string, event: AccountEvent) => void>();

  constructor(
    readonly symbols: ReadonlyMap<string, SimSymbol>,
    private readonly now: () => number,
    private readonly price: () => number,
    private readonly fees = { maker: 0.0002, taker: 0.0005 },
    private readonly startBalance = 100_000,
  ) {}

  onEvent(listener: (apiKey: string, event: AccountEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  account(apiKey: string): SimAccountState {
    let a = this.#accounts.get(apiKey);
    if (!a) {
      a = { apiKey, wallet: this.startBalance, leverage: new Map(), orders: new Map(), positions: new Map() };
      this.#accounts.set(apiKey, a);
    }
    return a;
  }

  symbol(name: string | undefined): SimSymbol {
    if (!name) throw new BinanceReject(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    const s = this.symbols.get(name);
    if (!s) throw new BinanceReject(-1121, 'Invalid symbol.');
    return s;
  }

  /** Places an order; `ack` is the order as it was accepted (the ACK answer), before any fill. */
  place(apiKey: string, p: Record<string, string>): { order: SimOrder; ack: Record<string, unknown> } {
    const account = this.account(apiKey);
    const sym = this.symbol(p.symbol);
    const side = p.side;
    if (side !== 'BUY' && side !== 'SELL') throw new BinanceReject(-1117, 'Invalid side.');
    const type = p.type;
    if (['STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'].includes(type ?? '')) {
      throw new BinanceReject(-4120, 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.');
    }
    if (type !== 'LIMIT' && type !== 'MARKET') throw new BinanceReject(-1116, 'Invalid orderType.');
    if (p.positionSide && p.positionSide !== 'BOTH') throw new BinanceReject(-4061, "Order's position side does not match user's setting.");
    const qty = Number(p.quantity);
    if (p.quantity === undefined || !Number.isFinite(qty)) {
      throw new BinanceReject(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    }
    if (qty <= 0) throw new BinanceReject(-4003, 'Quantity less than or equal to zero.');
    if (qty < sym.minQty - 1e-12) throw new BinanceReject(-4004, 'Quantity less than min qty.');
    if (qty > (type === 'MARKET' ? sym.marketMaxQty : sym.maxQty)) throw new BinanceReject(-4005, 'Quantity greater than max quantity.');
    if (offGrid(qty, sym.stepSize)) throw new BinanceReject(-4023, 'Quantity not increased by step size.');
    let price = 0;
    let tif = '';
    if (type === 'LIMIT') {
      tif = p.timeInForce ?? '';
      if (!['GTC', 'IOC', 'FOK', 'GTX'].includes(tif)) {
        throw new BinanceReject(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
      }
      price = Number(p.price);
      if (p.price === undefined || !Number.isFinite(price)) {
        throw new BinanceReject(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
      }
      if (price <= 0) throw new BinanceReject(-4013, 'Price less than min price.');
      if (offGrid(price, sym.tickSize)) throw new BinanceReject(-4014, 'Price not increased by tick size.');
    } else if (p.price !== undefined) {
      throw new BinanceReject(-1106, "Parameter 'price' sent when not required.");
    }
    const clientOrderId = p.newClientOrderId ?? `sim_${this.#nextOrderId}`;
    if (!CLIENT_ID.test(clientOrderId)) throw new BinanceReject(-4015, 'Client order id is not valid.');
    for (const o of account.orders.values()) {
      if (o.clientOrderId === clientOrderId && !TERMINAL.has(o.status)) throw new BinanceReject(-4116, 'ClientOrderId is duplicated.');
    }
    const last = this.price();
    const reduceOnly = p.reduceOnly === 'true';
    const position = account.positions.get(sym.symbol)?.amount ?? 0;
    const signed = side === 'BUY' ? qty : -qty;
    if (reduceOnly && (position === 0 || Math.sign(position) === Math.sign(signed))) {
      throw new BinanceReject(-2022, 'ReduceOnly Order is rejected.');
    }
    const refPrice = type === 'LIMIT' ? price : last;
    if (!reduceOnly && qty * refPrice < sym.minNotional - 1e-9) {
      throw new BinanceReject(-4164, `Order's notional must be no smaller than ${sym.minNotional} (unless you choose reduce only).`);
    }
    const crosses = type === 'MARKET' || (side === 'BUY' ? price >= last : price <= last);
    if (tif === 'GTX' && crosses) {
      throw new BinanceReject(
        -5022,
        'Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history',
      );
    }
    if (!reduceOnly) {
      const used = this.#usedMargin(account);
      const lev = account.leverage.get(sym.symbol) ?? 20;
      if (used + (qty * refPrice) / lev > account.wallet + this.#unrealized(account))
        throw new BinanceReject(-2019, 'Margin is insufficient.');
    }
    const now = this.now();
    const order: SimOrder = {
      orderId: this.#nextOrderId++,
      symbol: sym.symbol,
      clientOrderId,
      side,
      type,
      timeInForce: type === 'LIMIT' ? tif : 'GTC',
      price,
      origQty: qty,
      executedQty: 0,
      cumQuote: 0,
      status: 'NEW',
      reduceOnly,
      updateTime: now,
      time: now,
    };
    account.orders.set(order.orderId, order);
    const ack = orderJson(order);
    this.#emit(account, this.#orderEvent(order, 'NEW'));
    if (crosses) this.#fill(account, order, last, false);
    else if (tif === 'IOC' || tif === 'FOK') this.#finish(account, order, 'EXPIRED');
    return { order, ack };
  }

  find(apiKey: string, symbol: string | undefined, ref: { orderId?: string; origClientOrderId?: string }): SimOrder | undefined {
    const sym = this.symbol(symbol);
    const orders = [...this.account(apiKey).orders.values()].filter((o) => o.symbol === sym.symbol);
    if (ref.orderId !== undefined) return orders.find((o) => String(o.orderId) === ref.orderId);
    if (ref.origClientOrderId !== undefined) {
      const matching = orders.filter((o) => o.clientOrderId === ref.origClientOrderId);
      return matching.find((o) => !TERMINAL.has(o.status)) ?? matching.at(-1);
    }
    throw new BinanceReject(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!");
  }

  cancel(apiKey: string, p: Record<string, string>): SimOrder {
    const order = this.find(apiKey, p.symbol, p);
    if (!order || TERMINAL.has(order.status)) throw new BinanceReject(-2011, 'Unknown order sent.');
    this.#finish(this.account(apiKey), order, 'CANCELED');
    return order;
  }

  /** PUT /fapi/v1/order: a resting LIMIT order's price and quantity change (it loses its queue place). */
  modify(apiKey: string, p: Record<string, string>): SimOrder {
    const account = this.account(apiKey);
    const order = this.find(apiKey, p.symbol, p);
    if (!order || TERMINAL.has(order.status)) throw new BinanceReject(-2013, 'Order does not exist.');
    if (order.type !== 'LIMIT') throw new BinanceReject(-4129, 'Only LIMIT orders can be modified.');
    const sym = this.symbol(order.symbol);
    const price = Number(p.price);
    const qty = Number(p.quantity);
    if (!Number.isFinite(price) || !Number.isFinite(qty) || p.side !== order.side) {
      throw new BinanceReject(-1102, "Mandatory parameter 'side', 'quantity' or 'price' was not sent, was empty/null, or malformed.");
    }
    if (offGrid(price, sym.tickSize)) throw new BinanceReject(-4014, 'Price not increased by tick size.');
    if (offGrid(qty, sym.stepSize)) throw new BinanceReject(-4023, 'Quantity not increased by step size.');
    order.price = price;
    order.origQty = qty;
    order.updateTime = this.now();
    if (qty <= order.executedQty) {
      this.#finish(account, order, 'CANCELED');
      return order;
    }
    this.#emit(account, this.#orderEvent(order, 'AMENDMENT'));
    const last = this.price();
    if (order.side === 'BUY' ? price >= last : price <= last) this.#fill(account, order, last, false);
    return order;
  }

  open(apiKey: string, symbol?: string): SimOrder[] {
    return [...this.account(apiKey).orders.values()].filter((o) => !TERMINAL.has(o.status) && (!symbol || o.symbol === symbol));
  }

  cancelAll(apiKey: string, symbol: string): void {
    const account = this.account(apiKey);
    for (const o of this.open(apiKey, this.symbol(symbol).symbol)) this.#finish(account, o, 'CANCELED');
  }

  setLeverage(apiKey: string, symbol: string | undefined, leverage: number): void {
    const sym = this.symbol(symbol);
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > 125) throw new BinanceReject(-4028, 'Leverage is not valid.');
    this.account(apiKey).leverage.set(sym.symbol, leverage);
  }

  /** A bar closed: resting orders its range traded through fill at their price. */
  onBarClosed(bar: { high: number; low: number }): void {
    for (const account of this.#accounts.values()) {
      for (const o of [...account.orders.values()]) {
        if (TERMINAL.has(o.status) || o.type !== 'LIMIT') continue;
        if (o.side === 'BUY' ? bar.low <= o.price : bar.high >= o.price) this.#fill(account, o, o.price, true);
      }
    }
  }

  unrealized(apiKey: string, symbol: string): number {
    const p = this.account(apiKey).positions.get(symbol);
    return p ? (this.price() - p.entryPrice) * p.amount : 0;
  }

  availableBalance(apiKey: string): number {
    const a = this.account(apiKey);
    return a.wallet + this.#unrealized(a) - this.#usedMargin(a);
  }

  #usedMargin(a: SimAccountState): number {
    let used = 0;
    const last = this.price();
    for (const p of a.positions.values()) used += (Math.abs(p.amount) * last) / (a.leverage.get(p.symbol) ?? 20);
    for (const o of a.orders.values()) {
      if (!TERMINAL.has(o.status) && !o.reduceOnly) used += ((o.origQty - o.executedQty) * o.price) / (a.leverage.get(o.symbol) ?? 20);
    }
    return used;
  }

  #unrealized(a: SimAccountState): number {
    const last = this.price();
    let u = 0;
    for (const p of a.positions.values()) u += (last - p.entryPrice) * p.amount;
    return u;
  }

  #fill(account: SimAccountState, order: SimOrder, price: number, maker: boolean): void {
    const position = account.positions.get(order.symbol) ?? { symbol: order.symbol, amount: 0, entryPrice: 0, realized: 0 };
    let qty = order.origQty - order.executedQty;
    if (order.reduceOnly) {
      qty = Math.min(qty, Math.abs(position.amount));
      if (qty <= 0 || Math.sign(position.amount) === (order.side === 'BUY' ? 1 : -1)) {
        this.#finish(account, order, 'EXPIRED');
        return;
      }
    }
    const signed = order.side === 'BUY' ? qty : -qty;
    let realized = 0;
    if (position.amount !== 0 && Math.sign(position.amount) !== Math.sign(signed)) {
      const closing = Math.min(Math.abs(signed), Math.abs(position.amount));
      realized = (price - position.entryPrice) * closing * Math.sign(position.amount);
    }
    const next = Number((position.amount + signed).toFixed(8));
    if (next === 0) position.entryPrice = 0;
    else if (Math.sign(next) !== Math.sign(position.amount)) position.entryPrice = price;
    else if (Math.abs(next) > Math.abs(position.amount)) {
      position.entryPrice = (position.entryPrice * Math.abs(position.amount) + price * qty) / Math.abs(next);
    }
    position.amount = next;
    position.realized += realized;
    account.positions.set(order.symbol, position);
    const fee = qty * price * (maker ? this.fees.maker : this.fees.taker);
    account.wallet += realized - fee;
    order.executedQty = Number((order.executedQty + qty).toFixed(8));
    order.cumQuote += qty * price;
    order.status = order.executedQty >= order.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = this.now();
    this.#emit(
      account,
      this.#orderEvent(order, 'TRADE', {
        l: dec(qty, 3),
        L: dec(price, 2),
        n: dec(fee, 8),
        N: 'USDT',
        t: this.#nextTradeId++,
        m: maker,
        rp: dec(realized, 8),
      }),
    );
    this.#emit(account, {
      e: 'ACCOUNT_UPDATE',
      E: this.now(),
      T: this.now(),
      a: {
        m: 'ORDER',
        B: [{ a: 'USDT', wb: dec(account.wallet, 8), cw: dec(account.wallet, 8), bc: '0' }],
        P: [
          {
            s: order.symbol,
            pa: dec(position.amount, 3),
            ep: dec(position.entryPrice, 8),
            bep: dec(position.entryPrice, 8),
            cr: dec(position.realized, 8),
            up: dec((this.price() - position.entryPrice) * position.amount, 8),
            mt: 'cross',
            iw: '0',
            ps: 'BOTH',
          },
        ],
      },
    });
    if (order.reduceOnly && order.status !== 'FILLED') this.#finish(account, order, 'EXPIRED');
  }

  #finish(account: SimAccountState, order: SimOrder, status: 'CANCELED' | 'EXPIRED'): void {
    order.status = status;
    order.updateTime = this.now();
    this.#emit(account, this.#orderEvent(order, status));
  }

  #orderEvent(order: SimOrder, x: string, fill: Record<string, unknown> = {}): AccountEvent {
    const avg = order.executedQty > 0 ? order.cumQuote / order.executedQty : 0;
    return {
      e: 'ORDER_TRADE_UPDATE',
      E: this.now(),
      T: order.updateTime,
      o: {
        s: order.symbol,
        c: order.clientOrderId,
        S: order.side,
        o: order.type,
        f: order.timeInForce,
        q: dec(order.origQty, 3),
        p: dec(order.price, 2),
        ap: dec(avg, 8),
        sp: '0',
        x,
        X: order.status,
        i: order.orderId,
        l: '0',
        z: dec(order.executedQty, 3),
        L: '0',
        T: order.updateTime,
        t: 0,
        b: '0',
        a: '0',
        m: false,
        R: order.reduceOnly,
        wt: 'CONTRACT_PRICE',
        ot: order.type,
        ps: 'BOTH',
        cp: false,
        rp: '0',
        pP: false,
        si: 0,
        ss: 0,
        V: 'EXPIRE_MAKER',
        pm: 'NONE',
        gtd: 0,
        er: x === 'EXPIRED' ? (order.reduceOnly ? '4' : '2') : '0',
        ...fill,
      },
    };
  }

  #emit(account: SimAccountState, event: AccountEvent): void {
    for (const l of this.#listeners) l(account.apiKey, event);
  }
}

/** An order as the REST API answers it (the ACK/RESULT shape). */
export function orderJson(o: SimOrder): Record<string, unknown> {
  return {
    orderId: o.orderId,
    symbol: o.symbol,
    status: o.status,
    clientOrderId: o.clientOrderId,
    price: dec(o.price, 2),
    avgPrice: dec(o.executedQty > 0 ? o.cumQuote / o.executedQty : 0, 8),
    origQty: dec(o.origQty, 3),
    executedQty: dec(o.executedQty, 3),
    cumQty: dec(o.executedQty, 3),
    cumQuote: dec(o.cumQuote, 8),
    timeInForce: o.timeInForce,
    type: o.type,
    origType: o.type,
    reduceOnly: o.reduceOnly,
    closePosition: false,
    side: o.side,
    positionSide: 'BOTH',
    stopPrice: '0',
    workingType: 'CONTRACT_PRICE',
    priceProtect: false,
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
    time: o.time,
    updateTime: o.updateTime,
  };
}
