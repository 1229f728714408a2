import { isTimeframe } from '@kokex/core';
import type { SimContext } from '../context.js';

export type SimEndpoint = 'public' | 'private' | 'business';
export type ChannelKind = 'candle' | 'tickers' | 'orders' | 'positions' | 'account';

export interface SimArg {
  channel: string;
  instId?: string;
  instType?: string;
  instFamily?: string;
  ccy?: string;
  extraParams?: string;
}

export type ArgCheck = { ok: true; kind: ChannelKind; arg: SimArg; tf?: string } | { ok: false; code: string; msg: string };

const ORDER_INST_TYPES = new Set(['SPOT', 'MARGIN', 'SWAP', 'FUTURES', 'OPTION', 'EVENTS', 'ANY']);
const POSITION_INST_TYPES = new Set(['MARGIN', 'SWAP', 'FUTURES', 'OPTION', 'EVENTS', 'ANY']);

/**
 * OKX's routing rules for one subscribe arg: candles only on /business (else 60018), tickers on
 * /public, account channels only on /private and only after login (60011); bad args 60013.
 */
export function checkArg(ctx: SimContext, endpoint: SimEndpoint, loggedIn: boolean, raw: unknown): ArgCheck {
  if (raw === null || typeof raw !== 'object' || typeof (raw as SimArg).channel !== 'string') {
    return { ok: false, code: '60012', msg: `Invalid request: ${JSON.stringify(raw)}` };
  }
  const arg = raw as SimArg;
  const missing = (what: string): ArgCheck => ({
    ok: false,
    code: '60018',
    msg: `Wrong URL or channel:${arg.channel},${what} doesn't exist.`,
  });
  const notFound = missing(`instId:${arg.instId ?? ''}`);
  if (arg.channel.startsWith('candle')) {
    const tf = arg.channel.slice('candle'.length);
    if (endpoint !== 'business') return notFound;
    if (!isTimeframe(tf) || !ctx.tape.supports(tf)) return notFound;
    if (!arg.instId) return { ok: false, code: '60013', msg: 'Invalid args' };
    if (!ctx.engine.instruments.has(arg.instId)) return notFound;
    return { ok: true, kind: 'candle', arg, tf };
  }
  if (arg.channel === 'tickers') {
    if (endpoint === 'business')
      return { ok: false, code: '64002', msg: 'This channel is not supported by business URL. Please use "/ws/v5/public" URL.' };
    if (endpoint !== 'public') return notFound;
    if (!arg.instId) return { ok: false, code: '60013', msg: 'Invalid args' };
    if (!ctx.engine.instruments.has(arg.instId)) return notFound;
    return { ok: true, kind: 'tickers', arg };
  }
  if (arg.channel === 'orders' || arg.channel === 'positions' || arg.channel === 'account') {
    if (endpoint === 'public')
      return { ok: false, code: '60008', msg: `The endpoint does not support subscribing to ${arg.channel} channels.` };
    if (endpoint !== 'private') return notFound;
    if (!loggedIn) return { ok: false, code: '60011', msg: 'Please log in' };
    if (arg.channel !== 'account') {
      const allowed = arg.channel === 'orders' ? ORDER_INST_TYPES : POSITION_INST_TYPES;
      if (!arg.instType || !allowed.has(arg.instType)) return { ok: false, code: '60013', msg: 'Invalid args' };
    }
    return { ok: true, kind: arg.channel, arg };
  }
  return notFound;
}

/** Whether an order/position of `instType`/`instId` falls under a subscription's filter. */
export function argMatches(arg: SimArg, instType: string, instId: string): boolean {
  if (arg.instType && arg.instType !== 'ANY' && arg.instType !== instType) return false;
  if (arg.instId && arg.instId !== instId) return false;
  if (arg.instFamily && !instId.startsWith(`${arg.instFamily}-`)) return false;
  return true;
}

/** Stable key of an arg (sorted keys), so a repeated subscribe does not double the pushes. */
export function simArgKey(arg: SimArg): string {
  return Object.entries(arg)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('&');
}
