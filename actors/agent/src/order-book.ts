import { type Bus, type OrderEvent, OrderEventContract, Streams, subjectFilter } from '@kokex/core';
import { nextBySubject } from './stream-reads.js';

/**
 * Positions and open orders of each plan as the ORDERS stream tells them: every order event the
 * executor published, read in stream order (incrementally: each read continues where the last
 * stopped). Used when no execution adapter can be asked (paper plans, or no venue plugin loaded in
 * this host): the paper venue's state lives in the executor's process, not here.
 */
export interface DerivedPosition {
  inst: string;
  /** Signed, in the venue's order unit. */
  size: number;
  avgPrice: number;
  /** Realised PnL in price × size units (multiply by the contract value for swaps). */
  realizedPnl: number;
}

export interface DerivedOrder {
  inst: string;
  clientOrderId?: string;
  venueOrderId?: string;
  side: 'buy' | 'sell';
  type?: string;
  price?: number;
  size: number;
  filledSize: number;
  state: OrderEvent['kind'];
}

interface PlanBook {
  positions: Map<string, DerivedPosition>;
  open: Map<string, DerivedOrder>;
  fees: number;
}

const TERMINAL = new Set<OrderEvent['kind']>(['filled', 'canceled', 'rejected']);

export class OrderEventBook {
  #next = 1;
  #books = new Map<string, PlanBook>();
  #reading: Promise<void> | undefined;
  undecodable = 0;

  constructor(private readonly bus: Bus) {}

  /** Reads every order event stored since the last call; calls during a read share it. */
  async catchUp(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  positions(plan: string, inst?: string): DerivedPosition[] {
    return [...(this.#books.get(plan)?.positions.values() ?? [])].filter((p) => (!inst || p.inst === inst) && p.size !== 0);
  }

  openOrders(plan: string, inst?: string): DerivedOrder[] {
    return [...(this.#books.get(plan)?.open.values() ?? [])].filter((o) => !inst || o.inst === inst);
  }

  fees(plan: string): number {
    return this.#books.get(plan)?.fees ?? 0;
  }

  realizedPnl(plan: string): number {
    return [...(this.#books.get(plan)?.positions.values() ?? [])].reduce((sum, p) => sum + p.realizedPnl, 0);
  }

  async #read(): Promise<void> {
    for (;;) {
      const msg = await nextBySubject(this.bus, Streams.orders, subjectFilter('orderEvent'), this.#next);
      if (!msg) return;
      this.#next = msg.seq + 1;
      try {
        this.apply(OrderEventContract.decode(msg.data).data);
      } catch {
        this.undecodable++;
      }
    }
  }

  /** Applies one event (public so tests can feed events without a bus). */
  apply(event: OrderEvent): void {
    if (!event.plan) return;
    let book = this.#books.get(event.plan);
    if (!book) {
      book = { positions: new Map(), open: new Map(), fees: 0 };
      this.#books.set(event.plan, book);
    }
    const key = event.clientOrderId ?? event.venueOrderId ?? `${event.inst}:${event.venueTs}`;
    if (TERMINAL.has(event.kind)) book.open.delete(key);
    else {
      book.open.set(key, {
        inst: event.inst,
        ...(event.clientOrderId ? { clientOrderId: event.clientOrderId } : {}),
        ...(event.venueOrderId ? { venueOrderId: event.venueOrderId } : {}),
        side: event.side,
        ...(event.type ? { type: event.type } : {}),
        ...(event.price ? { price: event.price } : {}),
        size: event.size,
        filledSize: event.filledSize,
        state: event.kind,
      });
    }
    if (event.fill) {
      book.fees += Math.abs(event.fill.fee);
      applyFill(book.positions, event.inst, event.side === 'buy' ? event.fill.size : -event.fill.size, event.fill.price);
    }
  }
}

/** Average-cost position keeping: adding keeps a weighted price, reducing realises PnL at the fill price. */
function applyFill(positions: Map<string, DerivedPosition>, inst: string, signed: number, price: number): void {
  const p = positions.get(inst) ?? { inst, size: 0, avgPrice: 0, realizedPnl: 0 };
  const round = (n: number) => Math.round(n * 1e10) / 1e10;
  if (p.size === 0 || Math.sign(p.size) === Math.sign(signed)) {
    const size = p.size + signed;
    p.avgPrice = (p.avgPrice * Math.abs(p.size) + price * Math.abs(signed)) / Math.abs(size);
    p.size = round(size);
  } else {
    const closing = Math.min(Math.abs(signed), Math.abs(p.size));
    p.realizedPnl += closing * (price - p.avgPrice) * Math.sign(p.size);
    const size = round(p.size + signed);
    // Crossing through zero opens the rest at the fill price.
    if (size !== 0 && Math.sign(size) !== Math.sign(p.size)) p.avgPrice = price;
    if (size === 0) p.avgPrice = 0;
    p.size = size;
  }
  positions.set(inst, p);
}
