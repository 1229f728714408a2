import {
  type ApprovedOrder,
  approvalMismatch,
  type CancelVerdict,
  type LedgerSnapshot,
  type OrderEvent,
  type OrderVerdict,
  type Reconcile,
} from '@kokex/core';

/**
 * One plan's book as the guard rebuilds it from the ORDERS stream: what was decided (for
 * duplicate ids and redeliveries), the approved orders and their state (open orders), approval
 * times (the rate limits), and every fill (positions, realised PnL, fees, trades for the loss
 * streak, the equity curve for the drawdown). Pure: it never reads a clock or the bus.
 *
 * Money stays in venue units until it is valued: a fill adds `qty × price` ("raw"), which becomes
 * quote currency only when multiplied by the instrument's contract value in `valuation`. So the
 * book can be rebuilt before the instrument's metadata is known.
 */
export type LedgerOrderState = 'pending' | 'open' | 'closed';

export interface LedgerOrder {
  clientOrderId: string;
  inst: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  size: number;
  price?: number;
  reduceOnly: boolean;
  /** pending: approved, not yet accepted by the venue; open: accepted; closed: filled, cancelled or rejected. */
  state: LedgerOrderState;
  filled: number;
  avgPrice: number;
  venueOrderId?: string;
  lastEvent?: OrderEvent['kind'];
  reason?: string;
  approvedAt: number;
  updatedAt: number;
}

export interface DecidedIntent {
  /** Envelope id of the intent that was decided: a redelivery of it gets the same verdict again. */
  intentId: string;
  verdict: OrderVerdict;
  at: number;
}

export interface DecidedCancel {
  /** Envelope id of the cancel request that was decided. */
  requestId: string;
  verdict: CancelVerdict;
  at: number;
}

export interface LedgerFill {
  clientOrderId: string;
  inst: string;
  side: 'buy' | 'sell';
  size: number;
  price: number;
  /** Quote currency, positive when paid. */
  fee: number;
  /** `closing size × (price − average) × direction`: realised PnL before the contract value. */
  realizedRaw: number;
  at: number;
}

export interface Leg {
  /** Signed: positive long, negative short, in the venue's order unit. */
  qty: number;
  avgPrice: number;
  /** The open trade's realised raw PnL and fees so far. */
  tradeRaw: number;
  tradeFees: number;
}

interface ClosedTrade {
  inst: string;
  raw: number;
  fees: number;
  closedAt: number;
}

/** What valuation needs per instrument: the last price and the contract value (undefined when unknown). */
export type InstrumentQuote = (inst: string) => { price?: number; contractValue?: number };

export interface LedgerValuation {
  /** Today's (UTC) realised PnL less fees, plus open losses (open gains do not offset today's losses). */
  dailyPnl: number;
  realized: number;
  fees: number;
  unrealized: number;
  equity: number;
  peakEquity: number;
  /** (peak − equity) / peak. */
  drawdown: number;
  /** Losing trades in a row, most recent last. */
  lossStreak: number;
  lastLossAt?: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const TRADES_KEPT = 100;
const EPS = 1e-12;
/** Approvals waiting for their verdict: more than a burst of in-flight pairs means forgeries, dropped oldest first. */
const UNMATCHED_APPROVALS_KEPT = 1024;

const round = (n: number) => Number(n.toFixed(10));

/** OKX charges spot buys in the base currency; everything here is valued in the quote currency. */
function feeInQuote(event: OrderEvent, price: number): number {
  const fee = event.fill?.fee ?? 0;
  const parts = event.inst.split('-');
  return parts.length === 2 && event.fill?.feeCcy === parts[0] ? fee * price : fee;
}

export class PlanLedger {
  readonly decided = new Map<string, DecidedIntent>();
  /** Cancel verdicts by the request's cancel id: a redelivered request gets the same answer. */
  readonly cancels = new Map<string, DecidedCancel>();
  readonly orders = new Map<string, LedgerOrder>();
  readonly legs = new Map<string, Leg>();
  readonly fills: LedgerFill[] = [];
  #approvals: number[] = [];
  /** Approvals read before any verdict under their id, oldest first: booked when it comes. */
  #unmatchedApprovals = new Map<string, { order: ApprovedOrder; at: number }>();
  #lastApprovalAt: number | undefined;
  /** Ids of orders not yet closed, so the open-order checks do not walk the whole history. */
  #open = new Set<string>();
  #trades: ClosedTrade[] = [];
  #peak = { index: 0, cumulative: 0, best: 0, key: '' };

  constructor(readonly plan: string) {}

  /**
   * Everything the ledger holds, as plain data (`ledgerSnapshotSchema` in core): the books
   * snapshot the guard starts from. The equity-peak cache is not kept: it is recomputed on the
   * first valuation. What the ledger changes in place later (orders, legs) is copied; decisions,
   * fills and trades are never changed once booked, so they are shared, and the result stays as
   * it was taken while it is serialised in slices.
   */
  toSnapshot(): LedgerSnapshot {
    const copy = <T extends object>(o: T): T => ({ ...o });
    return {
      plan: this.plan,
      decided: [...this.decided].map(([id, d]) => [id, d.intentId, d.verdict, d.at]),
      cancels: [...this.cancels].map(([id, c]) => [id, c.requestId, c.verdict, c.at]),
      orders: [...this.orders.values()].map(copy),
      legs: [...this.legs].map(([inst, leg]) => [inst, copy(leg)]),
      fills: [...this.fills],
      approvals: [...this.#approvals],
      ...(this.#lastApprovalAt !== undefined ? { lastApprovalAt: this.#lastApprovalAt } : {}),
      ...(this.#unmatchedApprovals.size > 0
        ? { unmatchedApprovals: [...this.#unmatchedApprovals.values()].map((h) => [h.order, h.at] as [ApprovedOrder, number]) }
        : {}),
      trades: [...this.#trades],
      reconciliation: [...this.reconciliation].map(([inst, r]) => [inst, copy(r)]),
    };
  }

  /** The ledger a snapshot describes (the inverse of `toSnapshot`). */
  static fromSnapshot(s: LedgerSnapshot): PlanLedger {
    const ledger = new PlanLedger(s.plan);
    for (const [id, intentId, verdict, at] of s.decided) ledger.decided.set(id, { intentId, verdict, at });
    for (const [id, requestId, verdict, at] of s.cancels) ledger.cancels.set(id, { requestId, verdict, at });
    for (const order of s.orders) {
      ledger.orders.set(order.clientOrderId, { ...order });
      if (order.state !== 'closed') ledger.#open.add(order.clientOrderId);
    }
    for (const [inst, leg] of s.legs) ledger.legs.set(inst, { ...leg });
    for (const fill of s.fills) ledger.fills.push({ ...fill });
    ledger.#approvals = [...s.approvals];
    ledger.#lastApprovalAt = s.lastApprovalAt;
    for (const [order, at] of s.unmatchedApprovals ?? []) ledger.#unmatchedApprovals.set(order.clientOrderId, { order, at });
    ledger.#trades = s.trades.map((t) => ({ ...t }));
    for (const [inst, r] of s.reconciliation) ledger.reconciliation.set(inst, { ...r });
    return ledger;
  }

  recordDecision(intentId: string, verdict: OrderVerdict, at: number): void {
    if (this.decided.has(verdict.clientOrderId)) return;
    this.decided.set(verdict.clientOrderId, { intentId, verdict, at });
    // The guard stores a verdict and its approval at once, so the approval may come first.
    const held = this.#unmatchedApprovals.get(verdict.clientOrderId);
    if (held) {
      this.#unmatchedApprovals.delete(verdict.clientOrderId);
      this.recordApproval(held.order, held.at);
    }
  }

  recordCancel(requestId: string, verdict: CancelVerdict, at: number): void {
    if (!this.cancels.has(verdict.cancelId)) this.cancels.set(verdict.cancelId, { requestId, verdict, at });
  }

  /**
   * Books an approval only behind its own approving verdict with the same terms (core's
   * `approvalMismatch`): a forged approval, even one stored under the guard's name where the
   * server has no per-actor users, opens no order. One read before its verdict is held until the
   * verdict comes (the pair is stored together, in either order); false when it is not booked.
   */
  recordApproval(order: ApprovedOrder, at: number): boolean {
    if (this.orders.has(order.clientOrderId)) return true;
    const decided = this.decided.get(order.clientOrderId);
    if (!decided) {
      if (this.#unmatchedApprovals.size >= UNMATCHED_APPROVALS_KEPT) {
        const oldest = this.#unmatchedApprovals.keys().next().value;
        if (oldest !== undefined) this.#unmatchedApprovals.delete(oldest);
      }
      this.#unmatchedApprovals.set(order.clientOrderId, { order, at });
      return false;
    }
    if (approvalMismatch(order, decided.verdict) !== undefined) return false;
    this.orders.set(order.clientOrderId, {
      clientOrderId: order.clientOrderId,
      inst: order.inst,
      side: order.side,
      type: order.type,
      size: order.size,
      price: order.price,
      reduceOnly: order.reduceOnly,
      state: 'pending',
      filled: 0,
      avgPrice: 0,
      approvedAt: at,
      updatedAt: at,
    });
    this.#open.add(order.clientOrderId);
    this.#approvals.push(at);
    if (this.#lastApprovalAt === undefined || at > this.#lastApprovalAt) this.#lastApprovalAt = at;
    const horizon = at - HOUR_MS;
    while ((this.#approvals[0] ?? Number.POSITIVE_INFINITY) < horizon) this.#approvals.shift();
    return true;
  }

  /**
   * Applies a venue event of an order this plan approved: state, and the fill it adds (by
   * cumulative filled size, so a repeat adds nothing). An event of any other order is not booked
   * (false): the book holds only what the guard approved.
   */
  applyEvent(event: OrderEvent, at: number): boolean {
    const id = event.clientOrderId;
    if (!id) return false;
    const order = this.orders.get(id);
    if (!order) return false;
    if (event.venueOrderId) order.venueOrderId = event.venueOrderId;
    const delta = round(event.filledSize - order.filled);
    if (delta > EPS) {
      const price = this.#fillPrice(order, event, delta);
      this.#applyFill(order, delta, price, feeInQuote(event, price), at);
      order.avgPrice = (order.avgPrice * order.filled + price * delta) / event.filledSize;
      order.filled = event.filledSize;
    }
    order.lastEvent = event.kind;
    order.updatedAt = at;
    if (event.reason) order.reason = event.reason;
    if (event.kind === 'filled' || event.kind === 'canceled' || event.kind === 'rejected') {
      order.state = 'closed';
      this.#open.delete(id);
    } else if (order.state === 'pending') order.state = 'open';
    return true;
  }

  /** Market time of the latest approval: the guard never judges this plan's intents earlier than it. */
  get lastApprovalAt(): number | undefined {
    return this.#lastApprovalAt;
  }

  /** The newest reconciliation per instrument (the executor's `order.reconcile`): its status and run. */
  readonly reconciliation = new Map<string, { status: Reconcile['status']; run: string }>();

  /**
   * Books a reconciliation: the venue is the truth. A `reconciled` one sets the position to the
   * venue's (size and average price; no fill, so PnL is untouched); later events add to it.
   */
  applyReconcile(r: Reconcile): void {
    this.reconciliation.set(r.inst, { status: r.status, run: r.run });
    if (r.status !== 'reconciled' || !r.position) return;
    const leg = this.legs.get(r.inst) ?? { qty: 0, avgPrice: 0, tradeRaw: 0, tradeFees: 0 };
    if (Math.abs(leg.qty - r.position.size) <= EPS) return;
    leg.qty = round(r.position.size);
    leg.avgPrice = leg.qty === 0 ? 0 : r.position.avgPrice;
    this.legs.set(r.inst, leg);
  }

  approvalsSince(since: number): number {
    return this.#approvals.filter((t) => t > since).length;
  }

  openOrders(): LedgerOrder[] {
    return [...this.#open].map((id) => this.orders.get(id) as LedgerOrder);
  }

  position(inst: string): Leg {
    return this.legs.get(inst) ?? { qty: 0, avgPrice: 0, tradeRaw: 0, tradeFees: 0 };
  }

  /**
   * Size still to fill of open orders on `inst` that would move the position towards `side`
   * (reduce-only orders never add to a position).
   */
  openSize(inst: string, side: 'buy' | 'sell', reduceOnly?: boolean): number {
    let total = 0;
    for (const o of this.openOrders()) {
      if (o.inst === inst && o.side === side && (reduceOnly === undefined || o.reduceOnly === reduceOnly)) total += o.size - o.filled;
    }
    return total;
  }

  /** The book in quote currency at these prices, or `{missing}` naming an instrument without a price or contract value. */
  valuation(now: number, capital: number, quote: InstrumentQuote): LedgerValuation | { missing: string } {
    const values = new Map<string, number>();
    for (const inst of new Set([...this.legs.keys(), ...this.fills.map((f) => f.inst)])) {
      const ctv = quote(inst).contractValue;
      if (ctv === undefined) return { missing: inst };
      values.set(inst, ctv);
    }
    const ctv = (inst: string) => values.get(inst) ?? 1;
    let unrealized = 0;
    let openLosses = 0;
    for (const [inst, leg] of this.legs) {
      if (leg.qty === 0) continue;
      const price = quote(inst).price;
      if (price === undefined) return { missing: inst };
      const upl = leg.qty * (price - leg.avgPrice) * ctv(inst);
      unrealized += upl;
      openLosses += Math.min(0, upl);
    }
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
    let realized = 0;
    let fees = 0;
    let dailyPnl = openLosses;
    for (const f of this.fills) {
      const pnl = f.realizedRaw * ctv(f.inst);
      realized += pnl;
      fees += f.fee;
      if (f.at >= dayStart) dailyPnl += pnl - f.fee;
    }
    const equity = capital + realized - fees + unrealized;
    const peakEquity = Math.max(capital + this.#peakRealized(ctv, values), equity);
    let lossStreak = 0;
    for (let i = this.#trades.length - 1; i >= 0; i--) {
      const t = this.#trades[i] as ClosedTrade;
      if (t.raw * ctv(t.inst) - t.fees >= 0) break;
      lossStreak++;
    }
    const last = this.#trades.at(-1);
    return {
      dailyPnl,
      realized,
      fees,
      unrealized,
      equity,
      peakEquity,
      drawdown: peakEquity > 0 ? Math.max(0, (peakEquity - equity) / peakEquity) : 0,
      lossStreak,
      ...(lossStreak > 0 && last ? { lastLossAt: last.closedAt } : {}),
    };
  }

  /** Highest realised equity above capital along the fills, kept incrementally while contract values stay the same. */
  #peakRealized(ctv: (inst: string) => number, values: Map<string, number>): number {
    const key = JSON.stringify([...values]);
    if (key !== this.#peak.key) this.#peak = { index: 0, cumulative: 0, best: 0, key };
    for (; this.#peak.index < this.fills.length; this.#peak.index++) {
      const f = this.fills[this.#peak.index] as LedgerFill;
      this.#peak.cumulative += f.realizedRaw * ctv(f.inst) - f.fee;
      this.#peak.best = Math.max(this.#peak.best, this.#peak.cumulative);
    }
    return this.#peak.best;
  }

  #fillPrice(order: LedgerOrder, event: OrderEvent, delta: number): number {
    if (event.avgPrice) {
      const price = (event.avgPrice * event.filledSize - order.avgPrice * order.filled) / delta;
      if (Number.isFinite(price) && price > 0) return price;
    }
    return event.fill?.price ?? event.avgPrice ?? event.price ?? order.price ?? 0;
  }

  #applyFill(order: LedgerOrder, size: number, price: number, fee: number, at: number): void {
    const leg = this.legs.get(order.inst) ?? { qty: 0, avgPrice: 0, tradeRaw: 0, tradeFees: 0 };
    this.legs.set(order.inst, leg);
    const signed = order.side === 'buy' ? size : -size;
    let realizedRaw = 0;
    if (leg.qty === 0 || Math.sign(leg.qty) === Math.sign(signed)) {
      leg.avgPrice = (Math.abs(leg.qty) * leg.avgPrice + size * price) / (Math.abs(leg.qty) + size);
      leg.qty = round(leg.qty + signed);
      leg.tradeFees += fee;
    } else {
      const closing = Math.min(size, Math.abs(leg.qty));
      realizedRaw = closing * (price - leg.avgPrice) * Math.sign(leg.qty);
      const closingFee = (fee * closing) / size;
      leg.tradeRaw += realizedRaw;
      leg.tradeFees += closingFee;
      const before = leg.qty;
      leg.qty = round(leg.qty + signed);
      if (leg.qty === 0 || Math.sign(leg.qty) !== Math.sign(before)) {
        this.#trades.push({ inst: order.inst, raw: leg.tradeRaw, fees: leg.tradeFees, closedAt: at });
        if (this.#trades.length > TRADES_KEPT) this.#trades.shift();
        // What is left of the order opens the next trade, at this price.
        leg.tradeRaw = 0;
        leg.tradeFees = fee - closingFee;
        leg.avgPrice = leg.qty === 0 ? 0 : price;
      }
    }
    this.fills.push({ clientOrderId: order.clientOrderId, inst: order.inst, side: order.side, size, price, fee, realizedRaw, at });
  }
}
