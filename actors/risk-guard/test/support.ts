import { resolve } from 'node:path';
import {
  ActorHost,
  type ActorStatus,
  applyPlan,
  type Bus,
  CancelRequestContract,
  type CancelVerdict,
  CancelVerdictContract,
  CandleContract,
  type DecisionBasis,
  type Envelope,
  ForecastContract,
  type OrderEvent,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  type Plan,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { OkxSimulator, type SimCandle } from '@kokex/plugin-okx-sim';

/**
 * The order path on a real nats-server with the OKX simulator as the venue: the risk guard and
 * the executor in one host (the okx plugin registered for both ports), candles and forecasts
 * published the way the feed and the inferencer publish them, intents the way the agent does.
 */
const REPO = resolve(import.meta.dirname, '../../..');
export const DIRS = {
  okx: resolve(REPO, 'plugins/okx'),
  guard: resolve(REPO, 'actors/risk-guard'),
  executor: resolve(REPO, 'actors/executor'),
} as const;

export const SWAP = 'BTC-USDT-SWAP';
export const PRICE = 43_000;
const MIN = 60_000;
/** The bar of the fixture's candles and forecasts. */
export const BAR = Date.UTC(2026, 0, 5, 2);

/**
 * The test's market time: the plans run on the simulator (`sim`), so the guard's clock is the
 * data's. Each candle published moves it (to the candle's `eventTime`); intents speak for it
 * unless they say otherwise. Starts at the close of BAR.
 */
let market = BAR + MIN;
export const marketTime = () => market;

/** A flat market at PRICE: every fill is at PRICE, so PnL is exactly the fees. */
export function flatMinutes(count: number, start = Date.UTC(2026, 0, 5)): SimCandle[] {
  return Array.from({ length: count }, (_, i) => ({ ts: start + i * MIN, open: PRICE, high: PRICE, low: PRICE, close: PRICE, volume: 10 }));
}

export async function startSim(): Promise<{ sim: OkxSimulator; port: number }> {
  const bars = flatMinutes(600);
  const sim = new OkxSimulator({ data: bars, startAt: (bars[0]?.ts as number) + 100 * MIN, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  return { sim, port };
}

export function adapterSettings(port: number) {
  return {
    okx: {
      simPort: port,
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, requestTimeoutMs: 2000 },
      http: { retryDelayMs: 20, maxRetries: 2, timeoutMs: 3000 },
    },
  };
}

/** A sim-mode plan on BTC-USDT-SWAP (1m unless `tf`); `risk` lines replace the defaults below, `paper` sets the capital. */
export function orderPlan(name: string, risk: Record<string, string> = {}, options: { tf?: string; capital?: number } = {}): Plan {
  const limits: Record<string, string> = {
    maxNotional: '1000',
    maxPositionNotional: '3000',
    maxDailyLoss: '150',
    maxOpenOrders: '4',
    orderRate: '{ perMinute: 20, perHour: 200 }',
    priceBand: '0.05',
    ...risk,
  };
  const lines = Object.entries(limits).map(([k, v]) => `    ${k}: ${v}`);
  return parsePlan(
    [
      'apiVersion: kokex/v1',
      'kind: Plan',
      `metadata: { name: ${name} }`,
      'spec:',
      `  venue: { name: okx, mode: sim, sim: { speed: 1 }, paper: { balance: ${options.capital ?? 10_000} } }`,
      `  instrument: ${SWAP}`,
      `  timeframe: ${options.tf ?? '1m'}`,
      '  risk:',
      ...lines,
    ].join('\n'),
    `${name}.yaml`,
  );
}

export interface OrderPath {
  host: ActorHost;
  status(kind: string): ActorStatus | undefined;
  stop(): Promise<void>;
}

/** A host with the given kinds (default: the guard and the executor) on `bus`, venue settings for the simulator. */
export async function startOrderPath(
  bus: Bus,
  port: number,
  kinds = ['risk-guard', 'executor'],
  extra: Record<string, unknown> = {},
): Promise<OrderPath> {
  const adapters = adapterSettings(port);
  const host = new ActorHost({
    bus,
    log: captureLogger('error').log,
    kinds,
    config: {
      'risk-guard': { adapters, pollMs: 200, ...((extra['risk-guard'] as object) ?? {}) },
      executor: { adapters, reconnectMs: 200, retryBackoffMs: [50, 100], ...((extra.executor as object) ?? {}) },
    },
    heartbeatMs: 200,
  });
  await host.loadPlugin(DIRS.okx);
  if (kinds.includes('risk-guard')) await host.loadPlugin(DIRS.guard);
  if (kinds.includes('executor')) await host.loadPlugin(DIRS.executor);
  await host.start();
  const status = (kind: string) => host.statuses().find((s) => s.kind === kind);
  if (kinds.includes('executor'))
    await eventually(() => (status('executor')?.detail.venues as Array<{ state: string }>)?.every((v) => v.state === 'ready'));
  return { host, status, stop: () => host.stop() };
}

export async function applyPlans(bus: Bus, plans: Plan[]): Promise<void> {
  for (const plan of plans) await applyPlan(bus, plan);
}

/**
 * A closed candle as the validator stores it, speaking for market time `eventTime` (default: the
 * test's market time, which it then becomes when later).
 */
export async function publishCandle(
  bus: Bus,
  o: { close?: number; inst?: string; tf?: string; ts?: number; eventTime?: number } = {},
): Promise<void> {
  const { close = PRICE, inst = SWAP, tf = '1m', ts = BAR, eventTime = market } = o;
  const candle = { venue: 'okx', inst, tf, ts, open: close, high: close, low: close, close, volume: 1, confirmed: true };
  await bus.publish(CandleContract, subject('candle', { venue: 'okx', inst, tf }), candle, {
    id: `candle:${inst}:${tf}:${ts}:${eventTime}:${close}`,
    eventTime,
  });
  if (eventTime > market) market = eventTime;
}

/**
 * The smallest forecast the contract accepts, tradeable or not; answers the basis an intent acting
 * on it names (its message id, series and bar).
 */
export async function publishForecast(
  bus: Bus,
  tradeable: boolean,
  o: { inst?: string; tf?: string; asOf?: number; id?: string; lastClose?: number } = {},
): Promise<Extract<DecisionBasis, { kind: 'forecast' }>> {
  const { inst = SWAP, tf = '1m', asOf = BAR, lastClose = PRICE } = o;
  const row = [PRICE];
  const { envelope } = await bus.publish(
    ForecastContract,
    subject('forecast', { inst, tf }),
    {
      venue: 'okx',
      inst,
      tf,
      asOf,
      lastClose,
      horizon: 1,
      steps: [asOf + MIN],
      mean: { close: row, high: row, low: row },
      median: { close: row },
      quantiles: { levels: [0.5], close: [row], high: [row], low: [row] },
      pUp: 0.5,
      pUpRaw: 0.5,
      pVolExpand: 0.5,
      expectedMaxAdverse: { long: 0.01, short: 0.01 },
      model: { name: 'kronos', version: 'test' },
      settings: { paths: 1, lookback: 16, temperature: 1, topK: 0, topP: 0.9, seed: 1, executionProvider: 'cpu' },
      computeMs: 1,
      skill: {
        scored: 0,
        window: 500,
        model: {},
        baselines: {},
        tradeable,
        reason: tradeable ? 'beats every baseline' : 'warming up: 0 of 100 scored',
      },
      tradeable,
    },
    // A forecast speaks for the close of the bar it saw.
    { ...(o.id ? { id: o.id } : {}), eventTime: Math.min(asOf + MIN, market) },
  );
  return { kind: 'forecast', id: envelope.id, inst, tf, asOf };
}

let seq = 0;
export function intentOf(plan: string, fields: Partial<OrderIntent> = {}): OrderIntent {
  return {
    plan,
    venue: 'okx',
    inst: SWAP,
    side: 'buy',
    size: 1,
    type: 'market',
    reduceOnly: false,
    clientOrderId: `t${Date.now().toString(36)}${(seq++).toString(36)}`,
    origin: { kind: 'rule', who: 'test', why: 'order path test' },
    basis: { kind: 'manual' },
    refs: {},
    ...fields,
  };
}

/**
 * Publishes with the client order id in the message id (as the agent and the CLI do) unless `id`
 * says otherwise, speaking for the test's market time unless `eventTime` says otherwise.
 */
export async function sendIntent(bus: Bus, intent: OrderIntent, id = `intent:${intent.clientOrderId}`, eventTime = market): Promise<void> {
  await bus.publish(OrderIntentContract, subject('orderIntent', { plan: intent.plan, inst: intent.inst }), intent, { id, eventTime });
}

let cancels = 0;
/** Publishes a cancel request of `clientOrderId` (as the agent's cancel_order does); answers its cancel id. */
export async function sendCancel(
  bus: Bus,
  plan: string,
  clientOrderId: string,
  o: { inst?: string; venue?: string } = {},
): Promise<string> {
  const cancelId = `x${Date.now().toString(36)}${(cancels++).toString(36)}`;
  const { inst = SWAP, venue = 'okx' } = o;
  await bus.publish(
    CancelRequestContract,
    subject('orderCancel', { plan, inst }),
    { plan, venue, inst, cancelId, clientOrderId, origin: { kind: 'rule', who: 'test', why: 'cancel test' }, basis: { kind: 'manual' } },
    { id: `cancelrequest:${cancelId}`, eventTime: market },
  );
  return cancelId;
}

export const cancelVerdicts = (bus: Bus) =>
  stored<CancelVerdict>(bus, 'kokex.order.cancelverdict.>', (d) => CancelVerdictContract.decode(d));

/** The cancel verdict stored for a cancel id. */
export async function cancelVerdictOf(bus: Bus, cancelId: string, timeoutMs = 10_000): Promise<CancelVerdict> {
  let found: CancelVerdict | undefined;
  await eventually(async () => {
    found = (await cancelVerdicts(bus)).find((v) => v.cancelId === cancelId);
    return found !== undefined;
  }, timeoutMs);
  return found as CancelVerdict;
}

/** Every stored message of a family in ORDERS, decoded (verdicts or events), in stream order. */
export async function stored<T>(bus: Bus, filter: string, decode: (data: Uint8Array) => Envelope<T>): Promise<T[]> {
  const out: T[] = [];
  for (let seq = 1; ; ) {
    const msg = await bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: filter, seq } as never).catch(() => null);
    if (!msg) return out;
    out.push(decode(msg.data).data);
    seq = msg.seq + 1;
  }
}

export const verdicts = (bus: Bus) => stored<OrderVerdict>(bus, 'kokex.order.verdict.>', (d) => OrderVerdictContract.decode(d));
export const orderEvents = (bus: Bus) => stored<OrderEvent>(bus, 'kokex.order.event.>', (d) => OrderEventContract.decode(d));

/** The `nth` verdict (default the first) stored for a client order id. */
export async function verdictOf(bus: Bus, clientOrderId: string, nth = 1, timeoutMs = 10_000): Promise<OrderVerdict> {
  let found: OrderVerdict | undefined;
  await eventually(async () => {
    found = (await verdicts(bus)).filter((v) => v.clientOrderId === clientOrderId)[nth - 1];
    return found !== undefined;
  }, timeoutMs);
  return found as OrderVerdict;
}

export async function eventOf(bus: Bus, clientOrderId: string, kind: OrderEvent['kind'], timeoutMs = 10_000): Promise<OrderEvent> {
  let found: OrderEvent | undefined;
  await eventually(async () => {
    found = (await orderEvents(bus)).find((e) => e.clientOrderId === clientOrderId && e.kind === kind);
    return found !== undefined;
  }, timeoutMs);
  return found as OrderEvent;
}

export interface Fixture {
  nats: TestNats;
  bus: Bus;
  sim: OkxSimulator;
  port: number;
  path: OrderPath;
  stop(): Promise<void>;
}

/**
 * A real nats-server, the simulator, the plans applied, a fresh 1m candle, then `prepare` (more
 * market data, trading states) and the host with `kinds` (default the guard and the executor).
 */
export async function startFixture(plans: Plan[], o: { kinds?: string[]; prepare?: (bus: Bus) => Promise<void> } = {}): Promise<Fixture> {
  const nats = await startTestNats();
  const { sim, port } = await startSim();
  await applyPlans(nats.bus, plans);
  await publishCandle(nats.bus);
  await o.prepare?.(nats.bus);
  const path = await startOrderPath(nats.bus, port, o.kinds);
  return {
    nats,
    bus: nats.bus,
    sim,
    port,
    path,
    async stop() {
      await path.stop();
      await sim.stop();
      await nats.stop();
    },
  };
}
