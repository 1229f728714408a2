import {
  type AdapterDefinition,
  AdapterPort,
  type Balance,
  type ExecutionAdapter,
  type OrderStreamEvents,
  type PlaceOrderRequest,
  type PlaceOrderResult,
  type Position,
  type Subscription,
  type VenueOrder,
} from '@kokex/core';
import { type OkxAdapterMode, type OkxAdapterOptions, OkxMarketDataAdapter, okxAdapterConfigSchema, okxOptionsForMode } from './adapter.js';
import { credentialsFromEnv, type OkxCredentials } from './common/credentials.js';
import { OkxWsEndpoint } from './common/enums.js';
import { OkxApiError, OkxConfigError, OkxError } from './errors.js';
import { balancesFromOkx, orderUpdateFromOkx, placeOrderParams, positionFromOkx, venueOrderFromOkx } from './execution/parse.js';
import { createOkxClients, type OkxClients } from './factories.js';
import { isOutcomeUnknownOkxCode, OkxRestCode } from './http/errors.js';
import { OKX_VENUE } from './types.js';

/**
 * The key the OKX simulator accepts out of the box (`@kokex/plugin-okx-sim`'s default demo key).
 * Sim mode uses it when the environment holds no key, so `npm run demo` trades without set-up; it
 * reaches nothing but a localhost simulator.
 */
export const OKX_SIM_CREDENTIALS: Readonly<OkxCredentials> = Object.freeze({
  apiKey: 'sim-key',
  secretKey: 'sim-secret',
  passphrase: 'sim-pass',
});

/** Orders pending per page of `/trade/orders-pending` (OKX's maximum). */
const PENDING_PAGE = 100;

function apiCode(err: unknown): string | undefined {
  return err instanceof OkxApiError ? err.effectiveCode : undefined;
}

/**
 * Whether a failed place may still have reached the matching engine: a timeout, a reset
 * connection, a garbled answer, OKX's own "outcome unknown" codes. Rate-limit answers are certain
 * refusals. Anything of the sort is answered by asking OKX for the client order id.
 */
function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof OkxError) || !err.retryable) return false;
  const code = apiCode(err);
  return code === undefined || isOutcomeUnknownOkxCode(code) || code === '50001' || code === '50026';
}

/**
 * OKX refused this one order for a reason of its own (parameters, balance, lot size, reduce-only
 * without a position): sCode 51xxx and the "parameter empty" 50014. Placing it again cannot help,
 * and nothing else is wrong. Authentication and environment errors (501xx) are not refusals: they
 * stop every order and surface as fatal errors.
 */
function isOrderRefusal(err: unknown): err is OkxApiError {
  const code = apiCode(err);
  return code !== undefined && !(err as OkxApiError).retryable && (code.startsWith('51') || code === '50014');
}

/**
 * What `exchange:okx` resolves to: core's `MarketDataAdapter`, which also trades (core's
 * `ExecutionAdapter`) in sim, demo and live mode on the same clients, so a host's feed and executor
 * on one venue share one WebSocket client and one set of rate limits. In paper mode it serves
 * OKX's public data only; its trading calls fail with `OKX_CONFIG` (paper plans trade on
 * `execution:paper`, and an OKX client here would reach a real account).
 *
 * The client order id is the idempotency key: a place answered 51016 (the id is pending already)
 * or whose outcome is unknown is resolved by asking OKX for the order by that id, so a retry never
 * doubles a pending order. Order updates come from the private `orders` channel, de-duplicated by
 * OKX's rules in the WebSocket client. Errors keep the client's `retryable` flag: retryable ones
 * (rate limits, busy, transport) are worth repeating, others (credentials, environment) are not.
 */
export class OkxVenueAdapter extends OkxMarketDataAdapter implements ExecutionAdapter {
  readonly #tdMode: 'cross' | 'isolated';
  #orderSubscribers = 0;

  /** `tdMode`: the margin mode of derivative orders (spot always trades `cash`). Default `cross`. */
  constructor(clients: OkxClients, mode: OkxAdapterMode, tdMode: 'cross' | 'isolated' = 'cross') {
    super(clients, mode);
    this.#tdMode = tdMode;
  }

  #trading(): OkxClients {
    if (this.mode !== 'paper') return this.clients;
    throw new OkxConfigError('okx in paper mode serves market data only; paper plans trade on the paper venue (execution:paper)', {
      mode: this.mode,
    });
  }

  async placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderResult> {
    const base = { clientOrderId: request.clientOrderId };
    try {
      const ack = await this.#trading().rest.submitOrder(placeOrderParams(request, this.#tdMode));
      return { ...base, venueOrderId: ack.ordId, accepted: true, duplicate: false };
    } catch (err) {
      if (apiCode(err) === OkxRestCode.ClOrdIdExists || outcomeUnknown(err)) {
        const existing = await this.getOrder({ inst: request.inst, clientOrderId: request.clientOrderId }).catch(() => undefined);
        if (existing) {
          return { ...base, venueOrderId: existing.venueOrderId, accepted: true, duplicate: apiCode(err) === OkxRestCode.ClOrdIdExists };
        }
        throw err;
      }
      if (isOrderRefusal(err)) {
        return { ...base, venueOrderId: '', accepted: false, duplicate: false, reason: `${err.effectiveCode}: ${err.sMsg || err.okxMsg}` };
      }
      throw err;
    }
  }

  /** Resolves once OKX accepted the cancel, or when the order is already final (51400): the end state arrives as an update. */
  async cancelOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<void> {
    try {
      await this.#trading().rest.submitCancel({ instId: ref.inst, ordId: ref.venueOrderId, clOrdId: ref.clientOrderId });
    } catch (err) {
      const code = apiCode(err);
      // 51400: filled, canceled or unknown; 51410: a cancel is already under way.
      if (code === OkxRestCode.CancelFailed || code === '51410') return;
      throw err;
    }
  }

  async getOrder(ref: { inst: string; clientOrderId?: string; venueOrderId?: string }): Promise<VenueOrder | undefined> {
    const order = await this.#trading().rest.requestOrder({ instId: ref.inst, ordId: ref.venueOrderId, clOrdId: ref.clientOrderId });
    return order ? venueOrderFromOkx(order) : undefined;
  }

  /** Every pending order (live and partially filled), following OKX's pages. */
  async openOrders(inst?: string): Promise<VenueOrder[]> {
    const out: VenueOrder[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#trading().rest.requestOpenOrders({ instId: inst, after, limit: PENDING_PAGE });
      out.push(...page.map(venueOrderFromOkx));
      if (page.length < PENDING_PAGE) return out;
      after = page.at(-1)?.ordId;
    }
  }

  /** Derivative positions; spot holdings are balances at OKX, not positions. */
  async positions(inst?: string): Promise<Position[]> {
    return (await this.#trading().rest.requestPositions(inst ? { instId: inst } : {})).filter((p) => p.pos !== 0).map(positionFromOkx);
  }

  async balances(): Promise<Balance[]> {
    return balancesFromOkx(await this.#trading().rest.requestBalance());
  }

  /**
   * The private `orders` channel for every instrument type. OKX sends no snapshot on it, so after a
   * reconnect `onResubscribed` fires and the caller resyncs through `openOrders` and `getOrder`.
   */
  async subscribeOrders(events: OrderStreamEvents): Promise<Subscription> {
    const { ws } = this.#trading();
    const offs = [
      ws.on('order', (order) => events.onOrder(orderUpdateFromOkx(order))),
      ws.on('reconnected', (r) => {
        if (r.endpoint === OkxWsEndpoint.Private) events.onResubscribed?.();
      }),
      ws.on('error', (err) => events.onError?.(err)),
    ];
    try {
      if (this.#orderSubscribers++ === 0) await ws.subscribeOrders({ instType: 'ANY' });
    } catch (err) {
      this.#orderSubscribers--;
      for (const off of offs) off();
      throw err;
    }
    // The channel is left when its last subscriber closes; closing twice closes once.
    const release = async () => {
      for (const off of offs) off();
      if (--this.#orderSubscribers === 0) await ws.unsubscribe({ channel: 'orders', instType: 'ANY' }).catch(() => undefined);
    };
    let closing: Promise<void> | undefined;
    return { close: () => (closing ??= release()) };
  }
}

/** Validates the configuration, reads keys from the environment (sim mode: the simulator's key when none) and builds the adapter. */
export function createOkxVenueAdapter(options: OkxAdapterOptions, env: Record<string, string | undefined> = process.env): OkxVenueAdapter {
  const config = okxAdapterConfigSchema.parse(options);
  const clientOptions = okxOptionsForMode(config, env);
  const credentials = clientOptions.credentials ?? (config.mode === 'sim' && !credentialsFromEnv(env) ? OKX_SIM_CREDENTIALS : undefined);
  return new OkxVenueAdapter(
    createOkxClients({ ...clientOptions, ...(credentials ? { credentials: { ...credentials } } : {}) }),
    config.mode,
  );
}

/** What the plugin contributes: `registry.resolve('exchange', 'okx', {mode: 'sim'})`, for market data and trading. */
export const okxExchangeAdapter: AdapterDefinition<OkxVenueAdapter> = {
  port: AdapterPort.exchange,
  name: OKX_VENUE,
  description:
    'OKX V5: candles over WebSocket, history over REST (modes sim, paper, demo, live); orders by client order id and the private orders channel (sim, demo, live)',
  configSchema: okxAdapterConfigSchema,
  create: (config) => createOkxVenueAdapter(config as OkxAdapterOptions),
};

/**
 * The same adapter on the execution port, `registry.resolve('execution', 'okx', {mode})`: what the
 * executor (and the agent's account reads) resolve. An instance of its own, so trading keeps its
 * own clients and rate limits beside the feed's.
 */
export const okxExecutionAdapter: AdapterDefinition<OkxVenueAdapter> = {
  port: AdapterPort.execution,
  name: OKX_VENUE,
  description: 'OKX V5 trading: orders by client order id over REST, the private orders channel, positions and balances (sim, demo, live)',
  configSchema: okxAdapterConfigSchema,
  create: (config) => createOkxVenueAdapter(config as OkxAdapterOptions),
};
