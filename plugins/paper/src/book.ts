import type { Balance, PlaceOrderRequest, PlaceOrderResult, Position, VenueOrder, VenueOrderUpdate } from '@kokex/core';

/**
 * The paper account: cash, positions and orders, filled against closed candles. Pure state and
 * arithmetic; the adapter feeds it candles and keeps it in KV.
 *
 * Fill rules, per closed bar that ends after the order was placed:
 * - market orders fill whole at the bar's close moved by `slippage` against them, as takers;
 * - limit orders that were marketable when placed (a buy at or above the last price) fill like
 *   market orders on their first bar, never beyond their limit;
 * - other limit orders rest and fill whole at their price when a bar trades through it (a buy when
 *   the low reaches it), as makers, without slippage.
 * Positions are netted (one signed position per instrument, 1× margin); realised PnL and fees
 * move the cash. A reduce-only order that would not reduce is refused, as OKX refuses it (51169).
 */
export interface PaperFees {
  takerFee: number;
  makerFee: number;
  slippage: number;
}

export interface PaperOrder {
  venueOrderId: string;
  clientOrderId: string;
  inst: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  price?: number;
  size: number;
  reduceOnly: boolean;
  state: VenueOrder['state'];
  filledSize: number;
  avgPrice?: number;
  /** Fee paid, quote currency. */
  fee: number;
  marketable: boolean;
  placedAt: number;
  updatedAt: number;
}

export interface PaperPosition {
  size: number;
  avgPrice: number;
}

export interface PaperState {
  cash: number;
  positions: Record<string, PaperPosition>;
  orders: PaperOrder[];
  nextId: number;
  lastPrices: Record<string, number>;
}

export interface PaperCandle {
  inst: string;
  ts: number;
  high: number;
  low: number;
  close: number;
}

export type ContractOf = (inst: string) => { contractValue: number; lotSize: number } | undefined;

const EPS = 1e-9;
const round = (n: number) => Number(n.toFixed(10));

/** A paper order as the execution port shows it. */
export function venueOrderOf(o: PaperOrder): VenueOrder {
  const { inst, clientOrderId, venueOrderId, side, type, price, size, filledSize, avgPrice, state, updatedAt } = o;
  return { inst, clientOrderId, venueOrderId, side, type, price, size, filledSize, avgPrice, state, updatedAt };
}

export function emptyPaperState(balance: number): PaperState {
  return { cash: balance, positions: {}, orders: [], nextId: 1, lastPrices: {} };
}

export class PaperBook {
  constructor(
    readonly state: PaperState,
    private readonly fees: PaperFees,
    private readonly contractOf: ContractOf,
    private readonly keepFinished = 1000,
  ) {}

  find(ref: { clientOrderId?: string; venueOrderId?: string }): PaperOrder | undefined {
    return this.state.orders.find((o) => (ref.venueOrderId ? o.venueOrderId === ref.venueOrderId : o.clientOrderId === ref.clientOrderId));
  }

  open(inst?: string): PaperOrder[] {
    return this.state.orders.filter((o) => (o.state === 'live' || o.state === 'partially_filled') && (!inst || o.inst === inst));
  }

  positions(inst?: string): Position[] {
    return Object.entries(this.state.positions)
      .filter(([i, p]) => p.size !== 0 && (!inst || i === inst))
      .map(([i, p]) => ({ inst: i, size: p.size, avgPrice: p.avgPrice, updatedAt: 0 }));
  }

  balances(quoteCcy: string): Balance[] {
    return [{ ccy: quoteCcy, total: round(this.state.cash), available: round(this.state.cash - this.#locked()) }];
  }

  /** Accepts or refuses an order; a client order id seen before answers with that order. */
  place(request: PlaceOrderRequest, last: number | undefined, now: number): { result: PlaceOrderResult; update?: VenueOrderUpdate } {
    const prior = this.find({ clientOrderId: request.clientOrderId });
    const base = { clientOrderId: request.clientOrderId };
    if (prior) return { result: { ...base, venueOrderId: prior.venueOrderId, accepted: true, duplicate: true } };
    const refuse = (reason: string) => ({ result: { ...base, venueOrderId: '', accepted: false, duplicate: false, reason } });
    const contract = this.contractOf(request.inst);
    if (!contract) return refuse(`unknown contract value of ${request.inst}; set it in the paper adapter's instruments`);
    if (last === undefined) return refuse(`no closed candle of ${request.inst} seen yet`);
    if (request.type === 'limit' && request.price === undefined) return refuse('a limit order needs a price');
    if (contract.lotSize > 0 && Math.abs(request.size / contract.lotSize - Math.round(request.size / contract.lotSize)) > 1e-6) {
      return refuse(`size ${request.size} is not a multiple of the lot ${contract.lotSize}`);
    }
    const position = this.state.positions[request.inst]?.size ?? 0;
    const signed = request.side === 'buy' ? request.size : -request.size;
    const reduces = position !== 0 && Math.sign(position) !== Math.sign(signed) && request.size <= Math.abs(position) + EPS;
    if (request.reduceOnly && !reduces)
      return refuse(`reduce-only ${request.side} of ${request.size} does not reduce a position of ${position}`);
    if (!reduces) {
      const notional = request.size * contract.contractValue * (request.price ?? last);
      const available = this.state.cash - this.#locked();
      if (notional * (1 + this.fees.takerFee) > available + EPS)
        return refuse(`insufficient balance: ${round(available)} available, ${round(notional)} needed`);
    }
    const order: PaperOrder = {
      venueOrderId: `P${this.state.nextId++}`,
      clientOrderId: request.clientOrderId,
      inst: request.inst,
      side: request.side,
      type: request.type,
      price: request.price,
      size: request.size,
      reduceOnly: request.reduceOnly,
      state: 'live',
      filledSize: 0,
      fee: 0,
      marketable: request.price === undefined || (request.side === 'buy' ? request.price >= last : request.price <= last),
      placedAt: now,
      updatedAt: now,
    };
    this.state.orders.push(order);
    this.#trim();
    return { result: { ...base, venueOrderId: order.venueOrderId, accepted: true, duplicate: false }, update: this.#update(order, now) };
  }

  cancel(ref: { clientOrderId?: string; venueOrderId?: string }, now: number): VenueOrderUpdate | undefined {
    const order = this.find(ref);
    if (!order || (order.state !== 'live' && order.state !== 'partially_filled')) return undefined;
    order.state = 'canceled';
    order.updatedAt = now;
    return this.#update(order, now, 'canceled by request');
  }

  /** A closed bar of `barMs`: fills what it reaches among orders placed before it ended. */
  onCandle(candle: PaperCandle, barMs: number, now: number): VenueOrderUpdate[] {
    this.state.lastPrices[candle.inst] = candle.close;
    const updates: VenueOrderUpdate[] = [];
    for (const order of this.open(candle.inst)) {
      if (candle.ts + barMs <= order.placedAt) continue;
      const fill = this.#fillPrice(order, candle);
      if (fill) updates.push(this.#fill(order, fill.price, fill.taker, now));
      // A marketable limit had one bar to take; from now on it rests.
      order.marketable = false;
    }
    return updates;
  }

  #fillPrice(order: PaperOrder, candle: PaperCandle): { price: number; taker: boolean } | undefined {
    const slip = order.side === 'buy' ? 1 + this.fees.slippage : 1 - this.fees.slippage;
    const taking = candle.close * slip;
    if (order.type === 'market') return { price: taking, taker: true };
    const limit = order.price as number;
    const within = order.side === 'buy' ? taking <= limit : taking >= limit;
    if (order.marketable && within) return { price: taking, taker: true };
    const reached = order.side === 'buy' ? candle.low <= limit : candle.high >= limit;
    return reached ? { price: limit, taker: false } : undefined;
  }

  #fill(order: PaperOrder, price: number, taker: boolean, now: number): VenueOrderUpdate {
    const contract = this.contractOf(order.inst) ?? { contractValue: 1, lotSize: 0 };
    const size = order.size;
    const fee = size * contract.contractValue * price * (taker ? this.fees.takerFee : this.fees.makerFee);
    const pos = this.state.positions[order.inst] ?? { size: 0, avgPrice: 0 };
    const signed = order.side === 'buy' ? size : -size;
    if (pos.size === 0 || Math.sign(pos.size) === Math.sign(signed)) {
      pos.avgPrice = (Math.abs(pos.size) * pos.avgPrice + size * price) / (Math.abs(pos.size) + size);
    } else {
      const closing = Math.min(size, Math.abs(pos.size));
      this.state.cash += closing * contract.contractValue * (price - pos.avgPrice) * Math.sign(pos.size);
      if (size > Math.abs(pos.size)) pos.avgPrice = price;
    }
    pos.size = round(pos.size + signed);
    if (pos.size === 0) pos.avgPrice = 0;
    this.state.positions[order.inst] = pos;
    this.state.cash -= fee;
    order.state = 'filled';
    order.filledSize = size;
    order.avgPrice = price;
    order.fee = fee;
    order.updatedAt = now;
    const tradeId = `T${this.state.nextId++}`;
    return { ...this.#update(order, now), fill: { price, size, fee, tradeId } };
  }

  /** Margin held by positions (1×, at their average price). */
  #locked(): number {
    let locked = 0;
    for (const [inst, p] of Object.entries(this.state.positions))
      locked += Math.abs(p.size) * p.avgPrice * (this.contractOf(inst)?.contractValue ?? 1);
    return locked;
  }

  #update(order: PaperOrder, now: number, reason?: string): VenueOrderUpdate {
    return { order: venueOrderOf(order), reason, receivedAt: now };
  }

  /** Drops the oldest final orders beyond `keepFinished`; open orders always stay. */
  #trim(): void {
    let finished = this.state.orders.filter((o) => o.state !== 'live' && o.state !== 'partially_filled').length;
    if (finished <= this.keepFinished) return;
    this.state.orders = this.state.orders.filter((o) => {
      if (finished > this.keepFinished && o.state !== 'live' && o.state !== 'partially_filled') {
        finished--;
        return false;
      }
      return true;
    });
  }
}
