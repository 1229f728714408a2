import type { SimAccount, SimBalance, SimFill, SimInstrument, SimOrder, SimPosition } from './model.js';

// Balance bookkeeping: holds for open orders, settlement of fills, net-mode positions.

function balance(account: SimAccount, ccy: string): SimBalance {
  let b = account.balances.get(ccy);
  if (!b) {
    b = { cash: 0, frozen: 0 };
    account.balances.set(ccy, b);
  }
  return b;
}

/** Margin locked by open positions settled in `ccy`. */
export function positionMargin(account: SimAccount, ccy: string, instruments: Map<string, SimInstrument>): number {
  let total = 0;
  for (const p of account.positions.values()) if (instruments.get(p.instId)?.settleCcy === ccy) total += p.margin;
  return total;
}

/** Cash not held by orders or positions. */
export function availableFor(account: SimAccount, ccy: string, instruments: Map<string, SimInstrument>): number {
  const b = account.balances.get(ccy);
  if (!b) return 0;
  return b.cash - b.frozen - positionMargin(account, ccy, instruments);
}

export function hold(account: SimAccount, order: SimOrder, amount: number): void {
  balance(account, order.frozenCcy).frozen += amount;
  order.frozen = amount;
}

/** Frees whatever the order still holds; returns the amount. */
export function release(account: SimAccount, order: SimOrder, amount = order.frozen): number {
  const freed = Math.min(amount, order.frozen);
  if (freed <= 0) return 0;
  const b = balance(account, order.frozenCcy);
  b.frozen = Math.max(0, b.frozen - freed);
  order.frozen -= freed;
  return freed;
}

/** Settles a spot fill; returns the currencies that changed. */
export function applySpotFill(account: SimAccount, inst: SimInstrument, order: SimOrder, fill: SimFill, last: boolean): string[] {
  const base = balance(account, inst.baseCcy);
  const quote = balance(account, inst.quoteCcy);
  const cost = fill.fillSz * fill.fillPx;
  if (order.side === 'buy') {
    release(account, order, cost);
    quote.cash -= cost;
    base.cash += fill.fillSz + fill.fillFee;
  } else {
    release(account, order, fill.fillSz);
    base.cash -= fill.fillSz;
    quote.cash += cost + fill.fillFee;
  }
  if (last) release(account, order);
  return [inst.baseCcy, inst.quoteCcy];
}

/** Settles a perpetual fill in net mode (realised PnL and fee in the settle currency). */
export function applySwapFill(account: SimAccount, inst: SimInstrument, order: SimOrder, fill: SimFill, last: boolean): string[] {
  const ctVal = Number(inst.ctVal);
  const lever = Number(inst.lever);
  const settle = balance(account, inst.settleCcy);
  let position = account.positions.get(inst.instId);
  if (!position) {
    position = newPosition(inst.instId, fill.fillTime);
    account.positions.set(inst.instId, position);
  }
  const signed = order.side === 'buy' ? fill.fillSz : -fill.fillSz;
  const before = position.pos;
  let realized = 0;
  if (before === 0 || Math.sign(before) === Math.sign(signed)) {
    position.avgPx = (Math.abs(before) * position.avgPx + Math.abs(signed) * fill.fillPx) / (Math.abs(before) + Math.abs(signed));
  } else {
    const closing = Math.min(Math.abs(signed), Math.abs(before));
    realized = closing * ctVal * (fill.fillPx - position.avgPx) * Math.sign(before);
    if (Math.abs(signed) > Math.abs(before)) position.avgPx = fill.fillPx;
  }
  position.pos = round(before + signed);
  if (position.pos === 0) position.avgPx = 0;
  position.realizedPnl += realized;
  position.fee += fill.fillFee;
  position.margin = (Math.abs(position.pos) * ctVal * position.avgPx) / lever;
  position.lastTradeId = fill.tradeId;
  position.uTime = fill.fillTime;
  settle.cash += realized + fill.fillFee;
  release(account, order, (fill.fillSz * ctVal * fill.fillPx) / lever);
  if (last) release(account, order);
  return [inst.settleCcy];
}

let nextPosId = 700_000_000_000_000_000n;

function newPosition(instId: string, now: number): SimPosition {
  return {
    instId,
    posId: String(nextPosId++),
    pos: 0,
    avgPx: 0,
    realizedPnl: 0,
    fee: 0,
    margin: 0,
    lastTradeId: '',
    cTime: now,
    uTime: now,
  };
}

function round(n: number): number {
  return Number(n.toFixed(10));
}
