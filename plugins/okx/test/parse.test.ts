import { candleSchema } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import {
  barFromCandleChannel,
  instTypeFromInstId,
  OkxErrorCode,
  OkxParseError,
  parseBalance,
  parseCandleRow,
  parseInstrument,
  parseOrder,
  parsePosition,
  parseTicker,
} from '../src/index.js';

describe('parseCandleRow', () => {
  const row = ['1597026383085', '8533.02', '8553.74', '8527.17', '8548.26', '45247', '529.5858061', '5529.5858061', '0'];

  it('maps the 9-column row by position to a core Candle', () => {
    expect(parseCandleRow(row, { instId: 'BTC-USDT', bar: '1D', receivedAt: 5 })).toEqual({
      venue: 'okx',
      inst: 'BTC-USDT',
      tf: '1D',
      ts: 1597026383085,
      open: 8533.02,
      high: 8553.74,
      low: 8527.17,
      close: 8548.26,
      volume: 45247,
      volumeQuote: 5529.5858061,
      confirmed: false,
      receivedAt: 5,
    });
    expect(candleSchema.safeParse(parseCandleRow(row, { instId: 'BTC-USDT', bar: '1D' })).success).toBe(true);
  });

  it('reads base volume from volCcy for derivatives (vol is contracts there)', () => {
    const c = parseCandleRow([...row.slice(0, 8), '1'], { instId: 'BTC-USDT-SWAP', bar: '1m' });
    expect(c.volume).toBe(529.5858061);
    expect(c.volumeQuote).toBe(5529.5858061);
    expect(c.confirmed).toBe(true);
  });

  it('tolerates short rows of older API versions', () => {
    const c = parseCandleRow(row.slice(0, 7), { instId: 'BTC-USDT', bar: '1H', confirmedIfMissing: true });
    expect(c.confirmed).toBe(true);
    expect(c.volumeQuote).toBe(529.5858061);
  });

  it('throws a typed OKX_PARSE error for garbage instead of NaN candles', () => {
    for (const bad of [['x'], [...row.slice(0, 4), 'NaN?', ...row.slice(5)], 'row', null, ['1', '-1', '2', '0.5', '1']]) {
      let caught: unknown;
      try {
        parseCandleRow(bad, { instId: 'BTC-USDT', bar: '1m' });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(OkxParseError);
      expect((caught as OkxParseError).code).toBe(OkxErrorCode.Parse);
    }
  });

  it('refuses a row that the candle check of core refuses (high below low), naming the rule, but parses a forming bar', () => {
    // The okx parser calls core's one candle check: the same rules as candleSchema and the validator.
    expect(() => parseCandleRow(['1597026383085', '10', '9', '9.5', '9.8', '1', '1', '1', '0'], { instId: 'BTC-USDT', bar: '1m' })).toThrow(
      /ohlc: high 9 is below/,
    );
    expect(parseCandleRow(['1597026383085', '10', '11', '9', '10.5', '1', '1', '1', '0'], { instId: 'BTC-USDT', bar: '1m' }).confirmed).toBe(false);
  });

  it('knows candle channels from other channels', () => {
    expect(barFromCandleChannel('candle1Dutc')).toBe('1Dutc');
    expect(barFromCandleChannel('candle7m')).toBeUndefined();
    expect(barFromCandleChannel('tickers')).toBeUndefined();
  });
});

describe('instrument, ticker and trading parsers', () => {
  it('parses an instrument with tick/lot/min size and contract value', () => {
    const i = parseInstrument({
      instId: 'BTC-USDT-SWAP',
      instType: 'SWAP',
      tickSz: '0.1',
      lotSz: '0.01',
      minSz: '0.01',
      ctVal: '0.01',
      ctType: 'linear',
      lever: '100',
      expTime: '',
    });
    expect(i).toMatchObject({
      tickSize: 0.1,
      lotSize: 0.01,
      minSize: 0.01,
      contractValue: 0.01,
      contractType: 'linear',
      maxLeverage: 100,
      expTime: undefined,
    });
  });

  it('parses a ticker keeping venue and local time', () => {
    const t = parseTicker({ instId: 'BTC-USDT', last: '100.5', bidPx: '100', askPx: '101', ts: '7' }, 9);
    expect(t).toMatchObject({ instType: 'SPOT', last: 100.5, bidPrice: 100, askPrice: 101, ts: 7, receivedAt: 9 });
  });

  it('parses an order push: avgPx "0" means no average, a tradeId means a fill', () => {
    const base = {
      instId: 'BTC-USDT',
      ordId: '1',
      clOrdId: 'c1',
      side: 'buy',
      ordType: 'limit',
      px: '10',
      sz: '2',
      cTime: '1',
      uTime: '2',
    };
    const live = parseOrder({ ...base, state: 'live', accFillSz: '0', avgPx: '0', tradeId: '' }, 3);
    expect(live).toMatchObject({ state: 'live', avgPrice: undefined, fill: undefined, price: 10, ts: 2, receivedAt: 3 });
    const filled = parseOrder({
      ...base,
      state: 'filled',
      accFillSz: '2',
      avgPx: '10',
      tradeId: 't9',
      fillPx: '10',
      fillSz: '2',
      fillFee: '-0.002',
      fillFeeCcy: 'BTC',
      execType: 'M',
      fillTime: '2',
    });
    expect(filled.fill).toMatchObject({ tradeId: 't9', price: 10, size: 2, fee: -0.002, execType: 'M' });
    expect(() => parseOrder({ ...base, state: 'live', sz: 'lots' })).toThrow(OkxParseError);
  });

  it('parses positions and balances', () => {
    expect(parsePosition({ instId: 'BTC-USDT-SWAP', pos: '-3', avgPx: '100', upl: '', uTime: '5' })).toMatchObject({
      instType: 'SWAP',
      pos: -3,
      avgPrice: 100,
      upl: undefined,
      ts: 5,
    });
    const b = parseBalance({ totalEq: '10', uTime: '4', details: [{ ccy: 'USDT', eq: '10', availBal: '8', frozenBal: '2' }] });
    expect(b.details[0]).toMatchObject({ ccy: 'USDT', eq: 10, availBal: 8, frozenBal: 2 });
  });

  it('derives instType from the shape of instId', () => {
    expect(['BTC-USDT', 'BTC-USDT-SWAP', 'BTC-USD-250328', 'BTC-USD-250328-40000-C'].map(instTypeFromInstId)).toEqual([
      'SPOT',
      'SWAP',
      'FUTURES',
      'OPTION',
    ]);
  });
});
