import { fmt } from '../market/candle-stream.js';
import { positionMargin } from './ledger.js';
import type { SimAccount, SimFill, SimInstrument, SimOrder, SimPosition } from './model.js';

// Account state rendered as OKX renders it: every number a string, "" where not applicable.

/**
 * An order object. On WS the fill fields describe *this* update's fill (empty otherwise) and
 * `avgPx` is "0" before any fill; on REST they describe the last fill and `avgPx` is "".
 */
export function orderToOkx(order: SimOrder, via: 'ws' | 'rest', fill?: SimFill): Record<string, string> {
  const shown = via === 'ws' ? fill : order.lastFill;
  const avgPx = order.accFillSz > 0 ? fmt(order.fillNotional / order.accFillSz) : via === 'ws' ? '0' : '';
  const out: Record<string, string> = {
    instType: order.instType,
    instId: order.instId,
    ordId: order.ordId,
    clOrdId: order.clOrdId,
    tag: order.tag,
    side: order.side,
    posSide: order.posSide,
    tdMode: order.tdMode,
    ordType: order.ordType,
    px: order.px === undefined ? '' : fmt(order.px),
    sz: fmt(order.sz),
    tgtCcy: order.tgtCcy,
    state: order.state,
    accFillSz: fmt(order.accFillSz),
    avgPx,
    fillPx: shown ? fmt(shown.fillPx) : '',
    fillSz: shown ? fmt(shown.fillSz) : '0',
    tradeId: shown?.tradeId ?? '',
    fillTime: shown ? String(shown.fillTime) : '',
    fillFee: shown ? fmt(shown.fillFee) : '0',
    fillFeeCcy: shown?.fillFeeCcy ?? '',
    execType: shown?.execType ?? '',
    fee: fmt(order.fee),
    feeCcy: order.feeCcy,
    rebate: '0',
    rebateCcy: order.feeCcy,
    lever: order.instType === 'SWAP' ? '10' : '',
    reduceOnly: String(order.reduceOnly),
    pnl: '0',
    category: 'normal',
    cancelSource: order.cancelSource,
    amendResult: '',
    reqId: '',
    source: '',
    stpMode: 'cancel_maker',
    cTime: String(order.cTime),
    uTime: String(order.uTime),
    code: '0',
    msg: '',
  };
  if (via === 'rest') out.cancelSourceReason = order.cancelSource === '1' ? 'Order canceled by system' : '';
  return out;
}

/** Place/cancel item: `{clOrdId, ordId, tag, ts, sCode, sMsg, subCode}`. */
export function ackItem(ordId: string, clOrdId: string, tag: string, ts: number, sCode = '0', sMsg = ''): Record<string, string> {
  return { clOrdId, ordId, tag, ts: String(ts), sCode, sMsg: sCode === '0' ? 'Order placed' : sMsg, subCode: '' };
}

export function positionToOkx(pos: SimPosition, inst: SimInstrument, mark: number, now: number): Record<string, string> {
  const ctVal = Number(inst.ctVal ?? 1);
  const upl = pos.pos * ctVal * (mark - pos.avgPx);
  const notional = Math.abs(pos.pos) * ctVal * mark;
  const imr = notional / Number(inst.lever);
  return {
    instType: inst.instType,
    instId: pos.instId,
    mgnMode: 'cross',
    posId: pos.posId,
    posSide: 'net',
    pos: fmt(pos.pos),
    availPos: '',
    avgPx: pos.pos === 0 ? '' : fmt(pos.avgPx),
    markPx: fmt(mark),
    last: fmt(mark),
    idxPx: fmt(mark),
    upl: fmt(upl),
    uplRatio: pos.margin > 0 ? fmt(upl / pos.margin) : '0',
    lever: inst.lever,
    liqPx: '',
    margin: '',
    imr: fmt(imr),
    mmr: fmt(imr / 2),
    mgnRatio: '',
    notionalUsd: fmt(notional),
    ccy: inst.settleCcy,
    realizedPnl: fmt(pos.realizedPnl),
    pnl: fmt(pos.realizedPnl),
    fee: fmt(pos.fee),
    fundingFee: '0',
    adl: '1',
    bePx: '',
    tradeId: pos.lastTradeId,
    cTime: String(pos.cTime),
    uTime: String(pos.uTime),
    pTime: String(now),
  };
}

/**
 * One `account/balance` element. Only currencies with a non-zero balance appear (OKX rule), or
 * exactly `ccys` when given. USD values take the quote currency as 1 and base at `priceOf`.
 */
export function balanceToOkx(
  account: SimAccount,
  instruments: Map<string, SimInstrument>,
  priceOf: (ccy: string) => number,
  upl: (ccy: string) => number,
  now: number,
  ccys?: string[],
): Record<string, unknown> {
  const wanted = ccys ?? [...account.balances.keys()];
  const details: Array<Record<string, string>> = [];
  let totalEq = 0;
  let totalImr = 0;
  let totalUpl = 0;
  for (const ccy of wanted) {
    const b = account.balances.get(ccy);
    if (!b) continue;
    const ccyUpl = upl(ccy);
    const margin = positionMargin(account, ccy, instruments);
    const eq = b.cash + ccyUpl;
    if (!ccys && eq === 0 && b.frozen === 0) continue;
    const eqUsd = eq * priceOf(ccy);
    totalEq += eqUsd;
    totalImr += margin * priceOf(ccy);
    totalUpl += ccyUpl * priceOf(ccy);
    details.push({
      ccy,
      eq: fmt(eq),
      cashBal: fmt(b.cash),
      availBal: fmt(b.cash - b.frozen - margin),
      frozenBal: fmt(b.frozen + margin),
      ordFrozen: fmt(b.frozen),
      availEq: fmt(eq - b.frozen - margin),
      eqUsd: fmt(eqUsd),
      upl: fmt(ccyUpl),
      imr: fmt(margin),
      liab: '0',
      uTime: String(now),
    });
  }
  return {
    uTime: String(now),
    totalEq: fmt(totalEq),
    isoEq: '0',
    adjEq: fmt(totalEq),
    availEq: fmt(totalEq - totalImr),
    ordFroz: '',
    imr: fmt(totalImr),
    mmr: fmt(totalImr / 2),
    mgnRatio: '',
    notionalUsd: '',
    upl: fmt(totalUpl),
    borrowFroz: '',
    details,
  };
}
