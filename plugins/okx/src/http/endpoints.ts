// The REST endpoints the adapter uses, with OKX's quotas (reference §7). The raw client mirrors
// this table one method per row; the rate limiter keys its buckets with `keyBy`.

/** How OKX counts a quota: per IP, per user (sub-account), and for some per instrument too. */
export type OkxQuotaKey = 'ip' | 'ip+instType' | 'user' | 'user+instId';

export interface OkxQuota {
  limit: number;
  windowMs: number;
  keyBy: OkxQuotaKey;
}

export interface OkxEndpointSpec {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /** Private endpoints are signed. */
  auth: boolean;
  quota: OkxQuota;
}

const q = (limit: number, keyBy: OkxQuotaKey): OkxQuota => ({ limit, windowMs: 2000, keyBy });

export const OkxEndpoints = {
  candles: { name: 'candles', method: 'GET', path: '/api/v5/market/candles', auth: false, quota: q(40, 'ip') },
  historyCandles: {
    name: 'historyCandles',
    method: 'GET',
    path: '/api/v5/market/history-candles',
    auth: false,
    quota: q(20, 'ip'),
  },
  ticker: { name: 'ticker', method: 'GET', path: '/api/v5/market/ticker', auth: false, quota: q(20, 'ip') },
  instruments: {
    name: 'instruments',
    method: 'GET',
    path: '/api/v5/public/instruments',
    auth: false,
    quota: q(20, 'ip+instType'),
  },
  time: { name: 'time', method: 'GET', path: '/api/v5/public/time', auth: false, quota: q(10, 'ip') },
  placeOrder: { name: 'placeOrder', method: 'POST', path: '/api/v5/trade/order', auth: true, quota: q(60, 'user+instId') },
  cancelOrder: {
    name: 'cancelOrder',
    method: 'POST',
    path: '/api/v5/trade/cancel-order',
    auth: true,
    quota: q(60, 'user+instId'),
  },
  getOrder: { name: 'getOrder', method: 'GET', path: '/api/v5/trade/order', auth: true, quota: q(60, 'user+instId') },
  ordersPending: {
    name: 'ordersPending',
    method: 'GET',
    path: '/api/v5/trade/orders-pending',
    auth: true,
    quota: q(60, 'user'),
  },
  balance: { name: 'balance', method: 'GET', path: '/api/v5/account/balance', auth: true, quota: q(10, 'user') },
  positions: { name: 'positions', method: 'GET', path: '/api/v5/account/positions', auth: true, quota: q(10, 'user') },
} as const satisfies Record<string, OkxEndpointSpec>;

export type OkxEndpointName = keyof typeof OkxEndpoints;

/** The bucket key of one call: endpoint name plus the instrument or instType where OKX keys by it. */
export function quotaBucketKey(spec: OkxEndpointSpec, scope: { instId?: string; instType?: string }): string {
  switch (spec.quota.keyBy) {
    case 'user+instId':
      return `${spec.name}:${scope.instId ?? '*'}`;
    case 'ip+instType':
      return `${spec.name}:${scope.instType ?? '*'}`;
    default:
      return spec.name;
  }
}
