import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from '../context.js';
import { fail, type RestAnswer } from './envelope.js';
import { candlesRoute, instrumentsRoute, tickerRoute, timeRoute } from './market-routes.js';
import { QuotaBuckets, type SimQuota } from './quota.js';
import { balanceRoute, cancelOrderRoute, getOrderRoute, ordersPendingRoute, placeOrderRoute, positionsRoute } from './trade-routes.js';

interface RouteInput {
  query: URLSearchParams;
  body: Record<string, unknown>;
  uid: string;
}

interface Route {
  method: 'GET' | 'POST';
  auth: boolean;
  quota: SimQuota;
  handle(ctx: SimContext, input: RouteInput): RestAnswer;
}

const q = (limit: number, keyBy: SimQuota['keyBy']): SimQuota => ({ limit, windowMs: 2000, keyBy });

/** The endpoints the clients use, with OKX's quotas (reference §7). */
const ROUTES: Record<string, Route> = {
  '/api/v5/market/candles': { method: 'GET', auth: false, quota: q(40, 'ip'), handle: (c, i) => candlesRoute(c, i.query, false) },
  '/api/v5/market/history-candles': { method: 'GET', auth: false, quota: q(20, 'ip'), handle: (c, i) => candlesRoute(c, i.query, true) },
  '/api/v5/market/ticker': { method: 'GET', auth: false, quota: q(20, 'ip'), handle: (c, i) => tickerRoute(c, i.query) },
  '/api/v5/public/instruments': { method: 'GET', auth: false, quota: q(20, 'ip+instType'), handle: (c, i) => instrumentsRoute(c, i.query) },
  '/api/v5/public/time': { method: 'GET', auth: false, quota: q(10, 'ip'), handle: (c) => timeRoute(c) },
  'POST /api/v5/trade/order': {
    method: 'POST',
    auth: true,
    quota: q(60, 'user+instId'),
    handle: (c, i) => placeOrderRoute(c, i.uid, i.body),
  },
  '/api/v5/trade/cancel-order': {
    method: 'POST',
    auth: true,
    quota: q(60, 'user+instId'),
    handle: (c, i) => cancelOrderRoute(c, i.uid, i.body),
  },
  'GET /api/v5/trade/order': { method: 'GET', auth: true, quota: q(60, 'user+instId'), handle: (c, i) => getOrderRoute(c, i.uid, i.query) },
  '/api/v5/trade/orders-pending': {
    method: 'GET',
    auth: true,
    quota: q(60, 'user'),
    handle: (c, i) => ordersPendingRoute(c, i.uid, i.query),
  },
  '/api/v5/account/balance': { method: 'GET', auth: true, quota: q(10, 'user'), handle: (c, i) => balanceRoute(c, i.uid, i.query) },
  '/api/v5/account/positions': { method: 'GET', auth: true, quota: q(10, 'user'), handle: (c, i) => positionsRoute(c, i.uid, i.query) },
};

function findRoute(method: string, path: string): Route | undefined {
  return ROUTES[`${method} ${path}`] ?? (ROUTES[path]?.method === method ? ROUTES[path] : undefined);
}

/**
 * One REST request: faults first (slow, forced 50011), then route, signature, quota, handler,
 * and finally the optional garbled body. The signed path is the raw request target, query
 * string included, exactly as the client sent it.
 */
export class RestRouter {
  private readonly quotas: QuotaBuckets;

  constructor(private readonly ctx: SimContext) {
    this.quotas = new QuotaBuckets(ctx.wallNow);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { ctx } = this;
    ctx.stats.restRequests++;
    const rawTarget = req.url ?? '/';
    const url = new URL(rawTarget, 'http://sim');
    const bodyText = await readBody(req);
    const faults = ctx.faults.faults;
    if (faults.slowResponseMs > 0) await new Promise((r) => setTimeout(r, faults.slowResponseMs));
    const answer = this.answer(req, rawTarget, url, bodyText);
    const hook = ctx.replyHooks.get(url.pathname)?.shift();
    if (hook) await hook();
    if (answer.body.code !== '0') ctx.stats.restRejected++;
    let text = JSON.stringify(answer.body);
    if (ctx.faults.roll(faults.malformedBodies)) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(text);
  }

  private answer(req: IncomingMessage, rawTarget: string, url: URL, bodyText: string): RestAnswer {
    const { ctx } = this;
    if (ctx.faults.roll(ctx.faults.faults.rateLimit50011)) return fail('50011', 'Too Many Requests', 429);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = findRoute(method, url.pathname);
    if (!route) return { status: 404, body: { code: '404', msg: `Not Found: ${method} ${url.pathname}`, data: [] } };

    let uid = '';
    if (route.auth) {
      const auth = ctx.auth.verifyRest(req.headers, method, rawTarget, method === 'GET' ? '' : bodyText);
      if (!auth.ok) return fail(auth.code, auth.msg, 401);
      uid = auth.credential.uid;
    }
    let body: Record<string, unknown> = {};
    if (method === 'POST') {
      try {
        const parsed: unknown = JSON.parse(bodyText || '{}');
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        return fail('50002', 'JSON syntax error', 400);
      }
    }
    if (ctx.enforceRateLimits && !this.quotas.take(this.quotaKey(url.pathname, route, uid, url.searchParams, body), route.quota)) {
      return fail('50011', 'Too Many Requests', 429);
    }
    return route.handle(ctx, { query: url.searchParams, body, uid });
  }

  private quotaKey(path: string, route: Route, uid: string, query: URLSearchParams, body: Record<string, unknown>): string {
    const instId = String(body.instId ?? query.get('instId') ?? '');
    switch (route.quota.keyBy) {
      case 'ip':
        return `${route.method} ${path}`;
      case 'ip+instType':
        return `${route.method} ${path}|${query.get('instType') ?? ''}`;
      case 'user':
        return `${route.method} ${path}|${uid}`;
      case 'user+instId':
        return `${route.method} ${path}|${uid}|${instId}`;
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
