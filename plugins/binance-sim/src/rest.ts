import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BinanceReject, orderJson, type SimSymbol, type TradingEngine } from './engine.js';
import type { FaultDice } from './faults.js';
import { dec, klineRow, type MarketTape } from './market.js';

export interface SimApiKey {
  apiKey: string;
  secretKey: string;
}

type Security = 'NONE' | 'USER_STREAM' | 'SIGNED';

interface Route {
  security: Security;
  /** IP weight of the request (REQUEST_WEIGHT). */
  weight: (p: Record<string, string>) => number;
  /** Counts on the ORDERS limiters. */
  order?: boolean;
  /** May be answered -1007 after executing (fault `unknownStatus`). */
  mutatesOrders?: boolean;
  handle: (ctx: RouteContext) => unknown;
}

interface RouteContext {
  params: Record<string, string>;
  apiKey: string;
}

/** The limits the router enforces, per IP (weight) and per account (orders), in wall time. */
export interface RestLimits {
  /** REQUEST_WEIGHT per minute. Default 2400. */
  weightPerMinute: number;
  /** ORDERS per 10 s. Default 300. */
  ordersPer10s: number;
  /** 429s answered in one minute before the IP is banned (418). Default 5. */
  banAfter429s: number;
  /** How long a ban lasts (ms). Default 120,000 (Binance: 2 min up to 3 days). */
  banMs: number;
  /** Retry-After (s) sent with forced 429/418 faults. Default 1. */
  faultRetryAfterSec: number;
  /** recvWindow when a request names none (ms). Default 5000. */
  defaultRecvWindow: number;
}

export const DEFAULT_REST_LIMITS: Readonly<RestLimits> = Object.freeze({
  weightPerMinute: 2400,
  ordersPer10s: 300,
  banAfter429s: 5,
  banMs: 120_000,
  faultRetryAfterSec: 1,
  defaultRecvWindow: 5000,
});

export interface RestDeps {
  engine: TradingEngine;
  tape: MarketTape;
  faults: FaultDice;
  keys: () => readonly SimApiKey[];
  limits: RestLimits;
  /** The server's wall clock (without the skew fault). */
  wallNow: () => number;
  listenKeys: {
    create(apiKey: string): string;
    keepalive(apiKey: string, key: string | undefined): string;
    remove(apiKey: string, key: string | undefined): void;
  };
  stats: { requests: number; rejected: number; ordersPlaced: number; unknownStatus: number };
}

const klineWeight = (p: Record<string, string>) => {
  const limit = Number(p.limit ?? 500);
  return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
};

/**
 * The REST side of /fapi: parameters from the query and a form body (the query wins), HMAC-SHA256
 * over the query string followed by the body, timestamps against the server clock, IP weight and
 * order counters with their `X-MBX-*` headers, 429 and then 418 for clients that ignore 429s.
 */
export class RestRouter {
  readonly #routes: Record<string, Route>;
  #minute = -1;
  #weight = 0;
  #violations = 0;
  #bannedUntil = 0;
  readonly #orderTimes = new Map<string, number[]>();

  constructor(private readonly d: RestDeps) {
    const { engine, tape } = d;
    const symbolJson = (s: SimSymbol) => ({
      symbol: s.symbol,
      pair: s.symbol,
      contractType: 'PERPETUAL',
      deliveryDate: 4133404800000,
      onboardDate: 1569398400000,
      status: 'TRADING',
      baseAsset: s.baseAsset,
      quoteAsset: s.quoteAsset,
      marginAsset: s.quoteAsset,
      pricePrecision: s.pricePrecision,
      quantityPrecision: s.quantityPrecision,
      baseAssetPrecision: 8,
      quotePrecision: 8,
      underlyingType: 'COIN',
      triggerProtect: '0.0500',
      orderTypes: ['LIMIT', 'MARKET'],
      timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: dec(s.tickSize * 10, 8), maxPrice: '4529764', tickSize: dec(s.tickSize, 8) },
        { filterType: 'LOT_SIZE', minQty: dec(s.minQty, 8), maxQty: dec(s.maxQty, 8), stepSize: dec(s.stepSize, 8) },
        { filterType: 'MARKET_LOT_SIZE', minQty: dec(s.minQty, 8), maxQty: dec(s.marketMaxQty, 8), stepSize: dec(s.stepSize, 8) },
        { filterType: 'MAX_NUM_ORDERS', limit: 200 },
        { filterType: 'MIN_NOTIONAL', notional: dec(s.minNotional, 8) },
        { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
      ],
    });
    const positionRows = (apiKey: string, symbol?: string) =>
      [...engine.symbols.values()]
        .filter((s) => !symbol || s.symbol === symbol)
        .map((s) => {
          const p = engine.account(apiKey).positions.get(s.symbol);
          const amount = p?.amount ?? 0;
          return {
            symbol: s.symbol,
            positionAmt: dec(amount, 3),
            entryPrice: dec(p?.entryPrice ?? 0, 8),
            breakEvenPrice: dec(p?.entryPrice ?? 0, 8),
            markPrice: dec(tape.price(), 8),
            unRealizedProfit: dec(engine.unrealized(apiKey, s.symbol), 8),
            liquidationPrice: '0',
            leverage: String(engine.account(apiKey).leverage.get(s.symbol) ?? 20),
            maxNotionalValue: '10000000',
            marginType: 'cross',
            isolatedMargin: '0',
            isAutoAddMargin: 'false',
            positionSide: 'BOTH',
            notional: dec(amount * tape.price(), 8),
            isolatedWallet: '0',
            updateTime: tape.now(),
          };
        });
    const balanceRows = (apiKey: string) => {
      const a = engine.account(apiKey);
      return [
        {
          accountAlias: 'SgsR',
          asset: 'USDT',
          balance: dec(a.wallet, 8),
          crossWalletBalance: dec(a.wallet, 8),
          crossUnPnl: dec(
            [...a.positions.keys()].reduce((n, s) => n + engine.unrealized(apiKey, s), 0),
            8,
          ),
          availableBalance: dec(engine.availableBalance(apiKey), 8),
          maxWithdrawAmount: dec(engine.availableBalance(apiKey), 8),
          marginAvailable: true,
          updateTime: tape.now(),
        },
      ];
    };
    const interval = (p: Record<string, string>) => {
      if (!p.interval) throw new BinanceReject(-1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.");
      if (!tape.serves(p.interval)) throw new BinanceReject(-1120, 'Invalid interval.');
      return p.interval;
    };
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    this.#routes = {
      'GET /fapi/v1/ping': { security: 'NONE', weight: () => 1, handle: () => ({}) },
      'GET /fapi/v1/time': { security: 'NONE', weight: () => 1, handle: () => ({ serverTime: this.serverTime() }) },
      'GET /fapi/v1/exchangeInfo': {
        security: 'NONE',
        weight: () => 1,
        handle: () => ({
          timezone: 'UTC',
          serverTime: this.serverTime(),
          futuresType: 'U_MARGINED',
          rateLimits: [
            { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: d.limits.weightPerMinute },
            { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
            { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: d.limits.ordersPer10s },
          ],
          exchangeFilters: [],
          assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
          symbols: [...engine.symbols.values()].map(symbolJson),
        }),
      },
      'GET /fapi/v1/klines': {
        security: 'NONE',
        weight: klineWeight,
        handle: ({ params }) => {
          const sym = engine.symbol(params.symbol);
          const limit = Number(params.limit ?? 500);
          if (!Number.isInteger(limit) || limit < 1 || limit > 1500) throw new BinanceReject(-1130, 'Invalid data sent for a parameter.');
          void sym;
          return tape.klines(interval(params), { startTime: num(params.startTime), endTime: num(params.endTime), limit }).map(klineRow);
        },
      },
      'GET /fapi/v2/ticker/price': {
        security: 'NONE',
        weight: (p) => (p.symbol ? 1 : 2),
        handle: ({ params }) => {
          const row = (s: SimSymbol) => ({ symbol: s.symbol, price: dec(tape.price(), 2), time: tape.now() });
          return params.symbol ? row(engine.symbol(params.symbol)) : [...engine.symbols.values()].map(row);
        },
      },
      'GET /fapi/v1/ticker/bookTicker': {
        security: 'NONE',
        weight: (p) => (p.symbol ? 2 : 5),
        handle: ({ params }) => {
          const s = engine.symbol(params.symbol);
          const p = tape.price();
          return {
            symbol: s.symbol,
            bidPrice: dec(p - s.tickSize, 2),
            bidQty: '5.000',
            askPrice: dec(p, 2),
            askQty: '5.000',
            time: tape.now(),
            lastUpdateId: tape.index,
          };
        },
      },
      'GET /fapi/v1/premiumIndex': {
        security: 'NONE',
        weight: (p) => (p.symbol ? 1 : 10),
        handle: ({ params }) => {
          const s = engine.symbol(params.symbol);
          const p = dec(tape.price(), 8);
          return {
            symbol: s.symbol,
            markPrice: p,
            indexPrice: p,
            estimatedSettlePrice: p,
            lastFundingRate: '0.00010000',
            interestRate: '0.00010000',
            nextFundingTime: Math.ceil((tape.now() + 1) / 28_800_000) * 28_800_000,
            time: tape.now(),
          };
        },
      },
      'POST /fapi/v1/order': {
        security: 'SIGNED',
        weight: () => 0,
        order: true,
        mutatesOrders: true,
        handle: ({ params, apiKey }) => {
          const { order, ack } = engine.place(apiKey, params);
          d.stats.ordersPlaced++;
          return params.newOrderRespType === 'RESULT' ? orderJson(order) : ack;
        },
      },
      'PUT /fapi/v1/order': {
        security: 'SIGNED',
        weight: () => 1,
        order: true,
        mutatesOrders: true,
        handle: ({ params, apiKey }) => orderJson(engine.modify(apiKey, params)),
      },
      'DELETE /fapi/v1/order': {
        security: 'SIGNED',
        weight: () => 1,
        mutatesOrders: true,
        handle: ({ params, apiKey }) => orderJson(engine.cancel(apiKey, params)),
      },
      'GET /fapi/v1/order': {
        security: 'SIGNED',
        weight: () => 1,
        handle: ({ params, apiKey }) => {
          const o = engine.find(apiKey, params.symbol, params);
          if (!o) throw new BinanceReject(-2013, 'Order does not exist.');
          return orderJson(o);
        },
      },
      'GET /fapi/v1/openOrders': {
        security: 'SIGNED',
        weight: (p) => (p.symbol ? 1 : 40),
        handle: ({ params, apiKey }) => engine.open(apiKey, params.symbol ? engine.symbol(params.symbol).symbol : undefined).map(orderJson),
      },
      'DELETE /fapi/v1/allOpenOrders': {
        security: 'SIGNED',
        weight: () => 1,
        handle: ({ params, apiKey }) => {
          engine.cancelAll(apiKey, params.symbol ?? '');
          return { code: 200, msg: 'The operation of cancel all open order is done.' };
        },
      },
      'POST /fapi/v1/leverage': {
        security: 'SIGNED',
        weight: () => 1,
        handle: ({ params, apiKey }) => {
          engine.setLeverage(apiKey, params.symbol, Number(params.leverage));
          return { leverage: Number(params.leverage), maxNotionalValue: '10000000', symbol: params.symbol };
        },
      },
      'GET /fapi/v2/positionRisk': {
        security: 'SIGNED',
        weight: () => 5,
        handle: ({ params, apiKey }) => positionRows(apiKey, params.symbol),
      },
      'GET /fapi/v2/balance': { security: 'SIGNED', weight: () => 5, handle: ({ apiKey }) => balanceRows(apiKey) },
      'GET /fapi/v2/account': {
        security: 'SIGNED',
        weight: () => 5,
        handle: ({ apiKey }) => {
          const [b] = balanceRows(apiKey);
          return {
            totalWalletBalance: b?.balance,
            totalUnrealizedProfit: b?.crossUnPnl,
            availableBalance: b?.availableBalance,
            assets: [{ asset: 'USDT', walletBalance: b?.balance, availableBalance: b?.availableBalance }],
            positions: positionRows(apiKey),
          };
        },
      },
      'POST /fapi/v1/listenKey': {
        security: 'USER_STREAM',
        weight: () => 1,
        handle: ({ apiKey }) => ({ listenKey: d.listenKeys.create(apiKey) }),
      },
      'PUT /fapi/v1/listenKey': {
        security: 'USER_STREAM',
        weight: () => 1,
        handle: ({ apiKey, params }) => ({ listenKey: d.listenKeys.keepalive(apiKey, params.listenKey) }),
      },
      'DELETE /fapi/v1/listenKey': {
        security: 'USER_STREAM',
        weight: () => 1,
        handle: ({ apiKey, params }) => {
          d.listenKeys.remove(apiKey, params.listenKey);
          return {};
        },
      },
    };
  }

  /** The server's time as it answers /fapi/v1/time and checks timestamps (wall clock plus the skew fault). */
  serverTime(): number {
    return this.d.wallNow() + this.d.faults.faults.clockSkewMs;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const d = this.d;
    d.stats.requests++;
    const url = new URL(req.url ?? '/', 'http://sim');
    const rawQuery = url.search.startsWith('?') ? url.search.slice(1) : '';
    const rawBody = await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const send = (status: number, body: unknown) => {
      if (status >= 400) d.stats.rejected++;
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    const route = this.#routes[`${method} ${url.pathname}`];
    if (!route) return send(404, { code: -1000, msg: `Not found: ${method} ${url.pathname}` });
    const params: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(rawBody)) params[k] = v;
    for (const [k, v] of new URLSearchParams(rawQuery)) params[k] = v;

    // Weight first: a banned or over-limit IP is refused before anything else is looked at.
    const wall = d.wallNow();
    const limited = this.#limit(wall, route.weight(params));
    headers['X-MBX-USED-WEIGHT-1M'] = String(this.#weight);
    if (limited) {
      headers['Retry-After'] = String(limited.retryAfter);
      return send(limited.status, { code: -1003, msg: limited.msg });
    }
    if (d.faults.roll(d.faults.faults.ban418)) {
      headers['Retry-After'] = String(d.limits.faultRetryAfterSec);
      return send(418, {
        code: -1003,
        msg: `Way too many requests; IP(127.0.0.1) banned until ${wall + 1000 * d.limits.faultRetryAfterSec}.`,
      });
    }
    if (d.faults.roll(d.faults.faults.rateLimit429)) {
      headers['Retry-After'] = String(d.limits.faultRetryAfterSec);
      return send(429, {
        code: -1003,
        msg: `Too many requests; current limit is ${d.limits.weightPerMinute} requests per minute. Please use the websocket for live updates to avoid polling the API.`,
      });
    }
    let apiKey = '';
    try {
      if (route.security !== 'NONE') apiKey = this.#authenticate(req, route.security, rawQuery, rawBody, params);
      if (route.order) {
        const count = this.#countOrder(apiKey, wall);
        headers['X-MBX-ORDER-COUNT-10S'] = String(count);
        if (count > d.limits.ordersPer10s) {
          headers['Retry-After'] = '10';
          throw new BinanceReject(-1015, `Too many new orders; current limit is ${d.limits.ordersPer10s} orders per TEN_SECONDS.`, 429);
        }
      }
      const result = route.handle({ params, apiKey });
      const slow = d.faults.faults.slowResponseMs;
      if (slow > 0) await new Promise((r) => setTimeout(r, slow));
      if (route.mutatesOrders && d.faults.roll(d.faults.faults.unknownStatus)) {
        d.stats.unknownStatus++;
        return send(503, {
          code: -1007,
          msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        });
      }
      return send(200, result);
    } catch (err) {
      if (err instanceof BinanceReject) return send(err.status, { code: err.code, msg: err.message });
      return send(500, { code: -1000, msg: `An unknown error occurred while processing the request. ${String(err)}` });
    }
  }

  /** Adds the request's weight; answers 429 over the limit, 418 once the client ignored enough 429s. */
  #limit(wall: number, weight: number): { status: number; msg: string; retryAfter: number } | undefined {
    const d = this.d;
    if (wall < this.#bannedUntil) {
      return {
        status: 418,
        msg: `Way too many requests; IP(127.0.0.1) banned until ${this.#bannedUntil}. Please use the websocket for live updates to avoid bans.`,
        retryAfter: Math.ceil((this.#bannedUntil - wall) / 1000),
      };
    }
    const minute = Math.floor(wall / 60_000);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#weight = 0;
      this.#violations = 0;
    }
    if (this.#weight + weight > d.limits.weightPerMinute) {
      this.#violations++;
      if (this.#violations > d.limits.banAfter429s) {
        this.#bannedUntil = wall + d.limits.banMs;
        return this.#limit(wall, 0);
      }
      return {
        status: 429,
        msg: `Too many requests; current limit is ${d.limits.weightPerMinute} requests per minute. Please use the websocket for live updates to avoid polling the API.`,
        retryAfter: Math.max(1, Math.ceil(((minute + 1) * 60_000 - wall) / 1000)),
      };
    }
    this.#weight += weight;
    return undefined;
  }

  #countOrder(apiKey: string, wall: number): number {
    const times = (this.#orderTimes.get(apiKey) ?? []).filter((t) => t > wall - 10_000);
    times.push(wall);
    this.#orderTimes.set(apiKey, times);
    return times.length;
  }

  #authenticate(req: IncomingMessage, security: Security, rawQuery: string, rawBody: string, params: Record<string, string>): string {
    const header = req.headers['x-mbx-apikey'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    const key = this.d.keys().find((k) => k.apiKey === apiKey);
    if (!apiKey) throw new BinanceReject(-2014, 'API-key format invalid.', 401);
    if (!key) throw new BinanceReject(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    if (security === 'USER_STREAM') return key.apiKey;
    const signature = params.signature;
    if (!signature) throw new BinanceReject(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    const payload = stripSignature(rawQuery) + stripSignature(rawBody);
    const expected = createHmac('sha256', key.secretKey).update(payload).digest('hex');
    const given = Buffer.from(signature.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      throw new BinanceReject(-1022, 'Signature for this request is not valid.');
    }
    const ts = Number(params.timestamp);
    if (!params.timestamp || !Number.isFinite(ts)) {
      throw new BinanceReject(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    }
    const recvWindow = Number(params.recvWindow ?? this.d.limits.defaultRecvWindow);
    if (!Number.isFinite(recvWindow) || recvWindow <= 0 || recvWindow > 60_000)
      throw new BinanceReject(-1131, 'recvWindow must be less than 60000');
    const server = this.serverTime();
    if (ts >= server + 1000) throw new BinanceReject(-1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    if (server - ts > recvWindow) throw new BinanceReject(-1021, 'Timestamp for this request is outside of the recvWindow.');
    return key.apiKey;
  }
}

/** The signed text is what precedes `&signature=…`; the signature itself is not part of it. */
function stripSignature(raw: string): string {
  return raw
    .split('&')
    .filter((pair) => pair.length > 0 && !pair.startsWith('signature='))
    .join('&');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
