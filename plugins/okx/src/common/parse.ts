import { type Candle, candleProblems, describeProblems, isTimeframe } from '@kokex/core';
import { OkxParseError } from '../errors.js';
import { OKX_VENUE, type OkxCandleContext, type OkxInstrument, type OkxTicker } from '../types.js';
import { instTypeFromInstId, OkxInstType } from './enums.js';
import { asArray, asObject, optNum, optStr, preview, type RawObject, reqNum, reqStr, toNumber } from './fields.js';

// Pure parsers for market data: OKX shapes in, the project's contracts out. Nothing here does I/O.

/** Column positions of a candle row `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]`. */
const COL = { ts: 0, open: 1, high: 2, low: 3, close: 4, vol: 5, volCcy: 6, volCcyQuote: 7, confirm: 8 } as const;

/**
 * One candle row (REST or WS) into a core `Candle`. Rows are parsed by position and short rows
 * (older API versions) are tolerated. `volume` is always base currency: SPOT/MARGIN report base in
 * `vol`, derivatives report contracts in `vol` and base in `volCcy`.
 */
export function parseCandleRow(row: unknown, ctx: OkxCandleContext): Candle {
  const what = `candle ${ctx.instId} ${ctx.bar}`;
  const cells = asArray(row, what);
  if (cells.length < 5) throw new OkxParseError(`${what}: row has ${cells.length} cells, expected at least 5`, { row: preview(row) });
  if (!isTimeframe(ctx.bar)) throw new OkxParseError(`${what}: unknown bar`, { bar: ctx.bar });
  const cell = (i: number, name: string, required: boolean): number | undefined => {
    const n = toNumber(cells[i]);
    if (n === undefined && (required || (cells[i] !== undefined && cells[i] !== ''))) {
      throw new OkxParseError(`${what}: ${name} is not a number`, { row: preview(row), column: name });
    }
    return n;
  };
  const ts = cell(COL.ts, 'ts', true) as number;
  const open = cell(COL.open, 'open', true) as number;
  const high = cell(COL.high, 'high', true) as number;
  const low = cell(COL.low, 'low', true) as number;
  const close = cell(COL.close, 'close', true) as number;
  const vol = cell(COL.vol, 'vol', false) ?? 0;
  const volCcy = cell(COL.volCcy, 'volCcy', false);
  const volCcyQuote = cell(COL.volCcyQuote, 'volCcyQuote', false);
  const confirmCell = cells[COL.confirm];
  const confirmed = confirmCell === undefined || confirmCell === '' ? (ctx.confirmedIfMissing ?? false) : confirmCell === '1';

  const instType = ctx.instType ?? instTypeFromInstId(ctx.instId);
  const spotLike = instType === OkxInstType.Spot || instType === OkxInstType.Margin;
  const volume = spotLike ? vol : (volCcy ?? vol);
  const volumeQuote = spotLike ? (volCcyQuote ?? volCcy) : volCcyQuote;

  const candle: Candle = { venue: OKX_VENUE, inst: ctx.instId, tf: ctx.bar, ts, open, high, low, close, volume, confirmed };
  if (volumeQuote !== undefined) candle.volumeQuote = volumeQuote;
  if (ctx.receivedAt !== undefined) candle.receivedAt = ctx.receivedAt;
  // Core's one candle check by hand (a history pull parses millions of rows; a schema parse each
  // would cost more than the network), at level `bar`: core's `candleSchema` and consistent
  // prices. Closed-bar rules (confirmed, bar grid) are the validator's: forming bars parse here too.
  const problems = candleProblems(candle, undefined, { level: 'bar' });
  if (problems.length > 0) throw new OkxParseError(`${what}: ${describeProblems(problems)}`, { row: preview(row) });
  return candle;
}

/** A `data` array of rows, in the order given (OKX REST: newest first). */
export function parseCandleRows(rows: unknown, ctx: OkxCandleContext): Candle[] {
  return asArray(rows, `candles ${ctx.instId} ${ctx.bar}`).map((row) => parseCandleRow(row, ctx));
}

/** `channel` like `candle1H` or `candle1Dutc` → bar `1H`/`1Dutc`; undefined for other channels. */
export function barFromCandleChannel(channel: string): string | undefined {
  if (!channel.startsWith('candle')) return undefined;
  const bar = channel.slice('candle'.length);
  return isTimeframe(bar) ? bar : undefined;
}

/** The candle channel for a bar (`1H` → `candle1H`). */
export function candleChannel(bar: string): string {
  return `candle${bar}`;
}

export function parseInstrument(raw: unknown): OkxInstrument {
  const o = asObject(raw, 'instrument');
  const what = `instrument ${String(o.instId ?? '?')}`;
  const ctType = optStr(o, 'ctType');
  return {
    venue: OKX_VENUE,
    instId: reqStr(o, 'instId', what),
    instType: reqStr(o, 'instType', what),
    instFamily: optStr(o, 'instFamily'),
    baseCcy: optStr(o, 'baseCcy'),
    quoteCcy: optStr(o, 'quoteCcy'),
    settleCcy: optStr(o, 'settleCcy'),
    tickSize: reqNum(o, 'tickSz', what),
    lotSize: reqNum(o, 'lotSz', what),
    minSize: reqNum(o, 'minSz', what),
    contractValue: optNum(o, 'ctVal', what),
    contractMultiplier: optNum(o, 'ctMult', what),
    contractValueCcy: optStr(o, 'ctValCcy'),
    contractType: ctType === 'linear' || ctType === 'inverse' ? ctType : undefined,
    state: optStr(o, 'state') ?? 'live',
    listTime: optNum(o, 'listTime', what),
    expTime: optNum(o, 'expTime', what),
    maxLeverage: optNum(o, 'lever', what),
    maxLimitSize: optNum(o, 'maxLmtSz', what),
    maxMarketSize: optNum(o, 'maxMktSz', what),
  };
}

export function parseTicker(raw: unknown, receivedAt: number = Date.now()): OkxTicker {
  const o: RawObject = asObject(raw, 'ticker');
  const what = `ticker ${String(o.instId ?? '?')}`;
  return {
    venue: OKX_VENUE,
    instType: optStr(o, 'instType') ?? instTypeFromInstId(reqStr(o, 'instId', what)),
    instId: reqStr(o, 'instId', what),
    last: reqNum(o, 'last', what),
    lastSize: optNum(o, 'lastSz', what),
    bidPrice: optNum(o, 'bidPx', what),
    bidSize: optNum(o, 'bidSz', what),
    askPrice: optNum(o, 'askPx', what),
    askSize: optNum(o, 'askSz', what),
    open24h: optNum(o, 'open24h', what),
    high24h: optNum(o, 'high24h', what),
    low24h: optNum(o, 'low24h', what),
    vol24h: optNum(o, 'vol24h', what),
    volCcy24h: optNum(o, 'volCcy24h', what),
    ts: reqNum(o, 'ts', what),
    receivedAt,
  };
}
