import type { Candle } from '@kokex/core';
import { barFromCandleChannel, parseCandleRow, parseTicker } from '../common/parse.js';
import { parseBalance, parseOrder, parsePosition } from '../common/parse-trading.js';
import { OkxParseError } from '../errors.js';
import type { OkxBalance, OkxOrder, OkxPosition, OkxTicker } from '../types.js';
import type { OkxWsPushFrame } from './messages.js';

// Pushes into typed objects. Pure: the caller passes the receive time.

export function parseCandlePush(frame: OkxWsPushFrame, receivedAt: number): Candle[] {
  const bar = barFromCandleChannel(frame.arg.channel);
  const instId = frame.arg.instId;
  if (!bar || !instId) throw new OkxParseError(`candle push on ${frame.arg.channel} without a known bar or instId`, { arg: frame.arg });
  return frame.data.map((row) => parseCandleRow(row, { instId, bar, receivedAt }));
}

export function parseTickerPush(frame: OkxWsPushFrame, receivedAt: number): OkxTicker[] {
  return frame.data.map((d) => parseTicker(d, receivedAt));
}

export function parseOrderPush(frame: OkxWsPushFrame, receivedAt: number): OkxOrder[] {
  return frame.data.map((d) => parseOrder(d, receivedAt));
}

export function parsePositionPush(frame: OkxWsPushFrame, receivedAt: number): OkxPosition[] {
  return frame.data.map((d) => parsePosition(d, receivedAt));
}

export function parseAccountPush(frame: OkxWsPushFrame, receivedAt: number): OkxBalance[] {
  return frame.data.map((d) => parseBalance(d, receivedAt));
}
