import { OkxWsEndpoint } from '../common/enums.js';
import type { OkxWsArg, OkxWsOp, OkxWsRequest } from './messages.js';

// Where each channel lives, which need a login, and how args are packed into requests.

/** Private channels on /ws/v5/private (login required). */
const PRIVATE_CHANNELS = new Set([
  'account',
  'positions',
  'balance_and_position',
  'orders',
  'fills',
  'liquidation-warning',
  'account-greeks',
]);

/** Channels on /ws/v5/business that need a login on the business connection itself. */
const BUSINESS_PRIVATE_CHANNELS = new Set([
  'orders-algo',
  'algo-advance',
  'grid-orders-spot',
  'grid-orders-contract',
  'grid-orders-moon',
  'grid-positions',
  'grid-sub-orders',
  'algo-recurring-buy',
  'deposit-info',
  'withdrawal-info',
  'rfqs',
  'quotes',
  'struc-block-trades',
]);

/** Public channels that moved to /business on 2023-06-20 (besides every candle channel). */
const BUSINESS_PUBLIC_CHANNELS = new Set(['trades-all', 'public-struc-block-trades', 'public-block-trades', 'block-tickers']);

function isCandleChannel(channel: string): boolean {
  return channel.startsWith('candle') || channel.startsWith('mark-price-candle') || channel.startsWith('index-candle');
}

/** The endpoint a channel is served on; picking the wrong one gives 60018/64001 from OKX. */
export function endpointForChannel(channel: string): OkxWsEndpoint {
  if (PRIVATE_CHANNELS.has(channel)) return OkxWsEndpoint.Private;
  if (
    isCandleChannel(channel) ||
    channel.startsWith('sprd-') ||
    BUSINESS_PRIVATE_CHANNELS.has(channel) ||
    BUSINESS_PUBLIC_CHANNELS.has(channel)
  ) {
    return OkxWsEndpoint.Business;
  }
  return OkxWsEndpoint.Public;
}

export function channelNeedsLogin(channel: string): boolean {
  return PRIVATE_CHANNELS.has(channel) || BUSINESS_PRIVATE_CHANNELS.has(channel);
}

/** A stable identity for an arg (sorted keys, `uid` ignored) to match acks and pushes. */
export function argKey(arg: OkxWsArg): string {
  const entries = Object.entries(arg)
    .filter(([k, v]) => k !== 'uid' && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([k, v]) => `${k}=${String(v)}`).join('&');
}

/** The arg as sent: without `uid` and undefined keys. */
export function cleanArg(arg: OkxWsArg): OkxWsArg {
  const out: OkxWsArg = { channel: arg.channel };
  for (const key of ['instType', 'instFamily', 'instId', 'ccy', 'extraParams'] as const) {
    if (arg[key] !== undefined) out[key] = arg[key];
  }
  return out;
}

/**
 * Packs args into as few requests as fit `maxBytes` each (OKX: all channels of one subscribe
 * ≤ 64 KB). `makeId` gives each request its own id so per-arg acks can be matched.
 */
export function packRequests(op: OkxWsOp, args: OkxWsArg[], maxBytes: number, makeId: () => string): OkxWsRequest[] {
  const requests: OkxWsRequest[] = [];
  let current: OkxWsRequest | undefined;
  let size = 0;
  // Overhead of `{"id":"<=32","op":"unsubscribe","args":[]}` with room to spare.
  const overhead = 64;
  for (const arg of args.map(cleanArg)) {
    const argSize = Buffer.byteLength(JSON.stringify(arg)) + 1;
    if (!current || size + argSize > maxBytes) {
      current = { id: makeId(), op, args: [] };
      requests.push(current);
      size = overhead;
    }
    current.args.push(arg);
    size += argSize;
  }
  return requests;
}
