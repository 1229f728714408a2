import {
  OKX_VENUE,
  type OkxBalance,
  type OkxBalanceDetail,
  type OkxFill,
  type OkxOrder,
  type OkxOrderAck,
  type OkxPosition,
} from '../types.js';
import { instTypeFromInstId } from './enums.js';
import { asArray, asObject, optNum, optStr, type RawObject, reqNum, reqStr } from './fields.js';

// Pure parsers for the trading side: orders, fills, positions, balances, place/cancel acks.

/**
 * The fill an order object reports, or undefined when it reports none (empty `tradeId`). On WS
 * this is the update's own fill; on REST it is the order's last fill.
 */
export function parseFill(raw: unknown, receivedAt: number = Date.now()): OkxFill | undefined {
  const o = asObject(raw, 'fill');
  const tradeId = optStr(o, 'tradeId');
  if (!tradeId) return undefined;
  const what = `fill ${tradeId}`;
  const size = optNum(o, 'fillSz', what) ?? 0;
  const instId = reqStr(o, 'instId', what);
  return {
    venue: OKX_VENUE,
    instType: optStr(o, 'instType') ?? instTypeFromInstId(instId),
    instId,
    ordId: reqStr(o, 'ordId', what),
    clOrdId: optStr(o, 'clOrdId'),
    tradeId,
    side: reqStr(o, 'side', what),
    price: reqNum(o, 'fillPx', what),
    size,
    fee: optNum(o, 'fillFee', what),
    feeCcy: optStr(o, 'fillFeeCcy'),
    execType: optStr(o, 'execType'),
    ts: optNum(o, 'fillTime', what) ?? optNum(o, 'uTime', what) ?? receivedAt,
    receivedAt,
  };
}

/** One order object (WS `orders` push element or REST order). */
export function parseOrder(raw: unknown, receivedAt: number = Date.now()): OkxOrder {
  const o = asObject(raw, 'order');
  const what = `order ${String(o.ordId ?? '?')}`;
  const instId = reqStr(o, 'instId', what);
  const avgPx = optNum(o, 'avgPx', what);
  const createdAt = optNum(o, 'cTime', what) ?? receivedAt;
  return {
    venue: OKX_VENUE,
    instType: optStr(o, 'instType') ?? instTypeFromInstId(instId),
    instId,
    ordId: reqStr(o, 'ordId', what),
    clOrdId: optStr(o, 'clOrdId'),
    tag: optStr(o, 'tag'),
    side: reqStr(o, 'side', what),
    posSide: optStr(o, 'posSide'),
    tdMode: optStr(o, 'tdMode'),
    ordType: reqStr(o, 'ordType', what),
    price: optNum(o, 'px', what),
    size: reqNum(o, 'sz', what),
    tgtCcy: optStr(o, 'tgtCcy'),
    state: reqStr(o, 'state', what),
    filledSize: optNum(o, 'accFillSz', what) ?? 0,
    // WS reports "0" and REST "" before the first fill; both mean "no average yet".
    avgPrice: avgPx === undefined || avgPx === 0 ? undefined : avgPx,
    fee: optNum(o, 'fee', what),
    feeCcy: optStr(o, 'feeCcy'),
    reduceOnly: o.reduceOnly === true || o.reduceOnly === 'true',
    leverage: optNum(o, 'lever', what),
    cancelSource: optStr(o, 'cancelSource'),
    reqId: optStr(o, 'reqId'),
    fill: parseFill(o, receivedAt),
    updateCode: optStr(o, 'code'),
    updateMsg: optStr(o, 'msg'),
    createdAt,
    ts: optNum(o, 'uTime', what) ?? createdAt,
    receivedAt,
  };
}

export function parsePosition(raw: unknown, receivedAt: number = Date.now()): OkxPosition {
  const o = asObject(raw, 'position');
  const what = `position ${String(o.instId ?? '?')}`;
  const instId = reqStr(o, 'instId', what);
  return {
    venue: OKX_VENUE,
    instType: optStr(o, 'instType') ?? instTypeFromInstId(instId),
    instId,
    posId: optStr(o, 'posId') ?? '',
    mgnMode: optStr(o, 'mgnMode') ?? '',
    posSide: optStr(o, 'posSide') ?? 'net',
    pos: optNum(o, 'pos', what) ?? 0,
    availPos: optNum(o, 'availPos', what),
    avgPrice: optNum(o, 'avgPx', what),
    markPrice: optNum(o, 'markPx', what),
    upl: optNum(o, 'upl', what),
    uplRatio: optNum(o, 'uplRatio', what),
    leverage: optNum(o, 'lever', what),
    liqPrice: optNum(o, 'liqPx', what),
    margin: optNum(o, 'margin', what),
    imr: optNum(o, 'imr', what),
    mmr: optNum(o, 'mmr', what),
    notionalUsd: optNum(o, 'notionalUsd', what),
    ccy: optStr(o, 'ccy'),
    realizedPnl: optNum(o, 'realizedPnl', what),
    fee: optNum(o, 'fee', what),
    createdAt: optNum(o, 'cTime', what),
    ts: optNum(o, 'uTime', what) ?? optNum(o, 'pTime', what) ?? receivedAt,
    receivedAt,
  };
}

function parseBalanceDetail(raw: unknown): OkxBalanceDetail {
  const o = asObject(raw, 'balance detail');
  const what = `balance ${String(o.ccy ?? '?')}`;
  return {
    ccy: reqStr(o, 'ccy', what),
    eq: optNum(o, 'eq', what) ?? 0,
    cashBal: optNum(o, 'cashBal', what),
    availBal: optNum(o, 'availBal', what),
    frozenBal: optNum(o, 'frozenBal', what),
    ordFrozen: optNum(o, 'ordFrozen', what),
    availEq: optNum(o, 'availEq', what),
    eqUsd: optNum(o, 'eqUsd', what),
    upl: optNum(o, 'upl', what),
    ts: optNum(o, 'uTime', what),
  };
}

/** One element of `GET /account/balance` data or an `account` push. */
export function parseBalance(raw: unknown, receivedAt: number = Date.now()): OkxBalance {
  const o: RawObject = asObject(raw, 'balance');
  const what = 'balance';
  return {
    venue: OKX_VENUE,
    totalEq: optNum(o, 'totalEq', what),
    availEq: optNum(o, 'availEq', what),
    imr: optNum(o, 'imr', what),
    mmr: optNum(o, 'mmr', what),
    upl: optNum(o, 'upl', what),
    details: o.details === undefined ? [] : asArray(o.details, 'balance details').map(parseBalanceDetail),
    ts: optNum(o, 'uTime', what) ?? receivedAt,
    receivedAt,
  };
}

/** One `data` element of a place/cancel answer. */
export function parseOrderAck(raw: unknown): OkxOrderAck {
  const o = asObject(raw, 'order ack');
  return {
    ordId: optStr(o, 'ordId') ?? '',
    clOrdId: optStr(o, 'clOrdId'),
    tag: optStr(o, 'tag'),
    sCode: optStr(o, 'sCode') ?? '0',
    sMsg: optStr(o, 'sMsg') ?? '',
    ts: optNum(o, 'ts', 'order ack'),
  };
}
