import type { Candle } from '@kokex/core';
import { asObject, reqNum } from '../common/fields.js';
import { parseCandleRows, parseInstrument, parseTicker } from '../common/parse.js';
import { parseBalance, parseOrder, parseOrderAck, parsePosition } from '../common/parse-trading.js';
import { OkxApiError, OkxInvalidRequestError, OkxMalformedResponseError } from '../errors.js';
import type { OkxBalance, OkxInstrument, OkxOrder, OkxOrderAck, OkxPosition, OkxTicker } from '../types.js';
import { OkxEndpoints } from './endpoints.js';
import { isRetryableOkxCode, OkxRestCode } from './errors.js';
import { paginateCandleHistory } from './history.js';
import type {
  OkxBalanceParams,
  OkxCandleHistoryRequest,
  OkxCandleRow,
  OkxCandlesParams,
  OkxInstrumentsParams,
  OkxOrderRef,
  OkxOrdersPendingParams,
  OkxPlaceOrderParams,
  OkxPositionsParams,
  OkxRawObject,
} from './models.js';
import { OkxRestTransport, type OkxRestTransportOptions } from './transport.js';

export type OkxRestClientOptions = OkxRestTransportOptions;

/** OKX's rule for `clOrdId`: 1–32 letters and digits, case-sensitive; `-`/`_` are rejected. */
const CL_ORD_ID = /^[A-Za-z0-9]{1,32}$/;

/**
 * OKX V5 REST. Raw methods (`get*`, `placeOrder`, `cancelOrder`) mirror one endpoint each and
 * return OKX's `data` untouched; domain methods (`request*`, `submit*`) return parsed objects.
 * Every non-zero answer becomes an `OkxApiError` carrying `okxCode`, `sCode`, `sMsg`, `retryable`.
 */
export class OkxRestClient {
  readonly transport: OkxRestTransport;
  private readonly now: () => number;

  constructor(options: OkxRestClientOptions = {}) {
    this.transport = new OkxRestTransport(options);
    this.now = options.now ?? Date.now;
  }

  // ---- raw: market data --------------------------------------------------------------------

  /** GET /api/v5/market/candles: the latest 1,440 bars, newest first, first row may be forming. */
  async getCandles(params: OkxCandlesParams, signal?: AbortSignal): Promise<OkxCandleRow[]> {
    return (await this.transport.request(OkxEndpoints.candles, { query: candleQuery(params), signal })) as OkxCandleRow[];
  }

  /** GET /api/v5/market/history-candles: years of bars, newest first. */
  async getHistoryCandles(params: OkxCandlesParams, signal?: AbortSignal): Promise<OkxCandleRow[]> {
    return (await this.transport.request(OkxEndpoints.historyCandles, {
      query: candleQuery(params),
      signal,
    })) as OkxCandleRow[];
  }

  /** GET /api/v5/public/instruments. */
  async getInstruments(params: OkxInstrumentsParams): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.instruments, {
      query: { instType: params.instType, instFamily: params.instFamily, instId: params.instId },
      scope: { instType: params.instType },
    })) as OkxRawObject[];
  }

  /** GET /api/v5/market/ticker. */
  async getTicker(instId: string): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.ticker, { query: { instId } })) as OkxRawObject[];
  }

  /** GET /api/v5/public/time. */
  async getSystemTime(): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.time)) as OkxRawObject[];
  }

  // ---- raw: trade and account --------------------------------------------------------------

  /** POST /api/v5/trade/order. Throws OkxApiError (with sCode) when the order is not accepted. */
  async placeOrder(params: OkxPlaceOrderParams): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.placeOrder, {
      body: params,
      scope: { instId: params.instId },
    })) as OkxRawObject[];
  }

  /** POST /api/v5/trade/cancel-order (`ordId` wins when both ids are given). */
  async cancelOrder(params: OkxOrderRef): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.cancelOrder, {
      body: params,
      scope: { instId: params.instId },
    })) as OkxRawObject[];
  }

  /** GET /api/v5/trade/order by ordId or clOrdId (the latest order with that clOrdId). */
  async getOrder(params: OkxOrderRef): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.getOrder, {
      query: { instId: params.instId, ordId: params.ordId, clOrdId: params.clOrdId },
      scope: { instId: params.instId },
    })) as OkxRawObject[];
  }

  /** GET /api/v5/trade/orders-pending: live and partially filled orders only. */
  async getOrdersPending(params: OkxOrdersPendingParams = {}): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.ordersPending, { query: { ...params } })) as OkxRawObject[];
  }

  /** GET /api/v5/account/positions. Spot holdings are not positions (they are in the balance). */
  async getPositions(params: OkxPositionsParams = {}): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.positions, { query: { ...params } })) as OkxRawObject[];
  }

  /** GET /api/v5/account/balance. */
  async getBalance(params: OkxBalanceParams = {}): Promise<OkxRawObject[]> {
    return (await this.transport.request(OkxEndpoints.balance, { query: { ...params } })) as OkxRawObject[];
  }

  // ---- domain ------------------------------------------------------------------------------

  /**
   * Closed bars in [since, until), each exactly once, ascending. Pages newest-first with
   * exclusive `after`/`before` bounds inside forward-moving windows, so memory stays one window.
   */
  requestCandleHistory(request: OkxCandleHistoryRequest): AsyncIterable<Candle> {
    return paginateCandleHistory(this, { ...request, until: request.until ?? this.now() }, this.now);
  }

  /** The latest bars from /market/candles, ascending; the last may be forming (confirmed=false). */
  async requestCandles(instId: string, bar: string, limit = 100): Promise<Candle[]> {
    const receivedAt = this.now();
    const rows = await this.getCandles({ instId, bar, limit });
    return parseCandleRows(rows, { instId, bar, receivedAt }).reverse();
  }

  async requestInstruments(params: OkxInstrumentsParams): Promise<OkxInstrument[]> {
    return (await this.getInstruments(params)).map(parseInstrument);
  }

  async requestInstrument(instType: string, instId: string): Promise<OkxInstrument | undefined> {
    return (await this.requestInstruments({ instType, instId })).find((i) => i.instId === instId);
  }

  async requestTicker(instId: string): Promise<OkxTicker> {
    const receivedAt = this.now();
    const [first] = await this.getTicker(instId);
    if (!first) throw new OkxMalformedResponseError(`ticker ${instId}: empty data`, { instId });
    return parseTicker(first, receivedAt);
  }

  /** Server time (ms); also sets the signing clock offset so timestamps stay within OKX's 30 s. */
  async syncServerTime(): Promise<number> {
    const sentAt = this.now();
    const [first] = await this.getSystemTime();
    const serverTs = reqNum(asObject(first, 'time'), 'ts', 'time');
    const receivedAt = this.now();
    this.transport.clockOffsetMs = serverTs - (sentAt + receivedAt) / 2;
    return serverTs;
  }

  /**
   * Places one order. Resolves with the ack when OKX *accepted* it (fills come on the orders
   * channel); throws OkxApiError with `sCode`/`sMsg` when not (e.g. 51016 duplicate clOrdId).
   */
  async submitOrder(params: OkxPlaceOrderParams): Promise<OkxOrderAck> {
    if (params.clOrdId !== undefined && !CL_ORD_ID.test(params.clOrdId)) {
      throw new OkxInvalidRequestError(`clOrdId "${params.clOrdId}" must be 1-32 letters and digits`, {
        clOrdId: params.clOrdId,
      });
    }
    return firstAck(await this.placeOrder(params), OkxEndpoints.placeOrder.path);
  }

  /** Requests a cancel; accepted is not done: the final state arrives on the orders channel. */
  async submitCancel(ref: OkxOrderRef): Promise<OkxOrderAck> {
    requireOrderId(ref);
    return firstAck(await this.cancelOrder(ref), OkxEndpoints.cancelOrder.path);
  }

  /** One order, or undefined when OKX does not know it (51603). */
  async requestOrder(ref: OkxOrderRef): Promise<OkxOrder | undefined> {
    requireOrderId(ref);
    const receivedAt = this.now();
    try {
      const [first] = await this.getOrder(ref);
      return first === undefined ? undefined : parseOrder(first, receivedAt);
    } catch (err) {
      if (err instanceof OkxApiError && err.effectiveCode === OkxRestCode.OrderNotFound) return undefined;
      throw err;
    }
  }

  async requestOpenOrders(params: OkxOrdersPendingParams = {}): Promise<OkxOrder[]> {
    const receivedAt = this.now();
    return (await this.getOrdersPending(params)).map((o) => parseOrder(o, receivedAt));
  }

  async requestPositions(params: OkxPositionsParams = {}): Promise<OkxPosition[]> {
    const receivedAt = this.now();
    return (await this.getPositions(params)).map((p) => parsePosition(p, receivedAt));
  }

  async requestBalance(params: OkxBalanceParams = {}): Promise<OkxBalance> {
    const receivedAt = this.now();
    const [first] = await this.getBalance(params);
    if (!first) throw new OkxMalformedResponseError('balance: empty data', {});
    return parseBalance(first, receivedAt);
  }
}

function candleQuery(p: OkxCandlesParams): Record<string, string | number | undefined> {
  return { instId: p.instId, bar: p.bar, after: p.after, before: p.before, limit: p.limit };
}

function requireOrderId(ref: OkxOrderRef): void {
  if (!ref.ordId && !ref.clOrdId) throw new OkxInvalidRequestError('ordId or clOrdId is required', { instId: ref.instId });
}

/** The single item of a place/cancel answer; a non-zero sCode under code "0" is still a failure. */
function firstAck(data: OkxRawObject[], path: string): OkxOrderAck {
  const first = data[0];
  if (first === undefined) throw new OkxMalformedResponseError(`${path}: empty data`, { path });
  const ack = parseOrderAck(first);
  if (ack.sCode !== '0') {
    throw new OkxApiError({
      okxCode: '1',
      okxMsg: '',
      sCode: ack.sCode,
      sMsg: ack.sMsg,
      path,
      retryable: isRetryableOkxCode(ack.sCode),
    });
  }
  return ack;
}
