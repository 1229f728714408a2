import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Envelope,
  ForecastContract,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  parsePlan,
  Streams,
  storedCandles,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, sampleForecast, startTestNats, type TestNats } from '@kokex/core/testing';
import { BinanceSimulator, syntheticBars } from '@kokex/plugin-binance-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A plan with `venue: binance` through the same actors an OKX plan runs on, in one host on a real
 * nats-server, against the Binance simulator: the feed's candles validated into MD_CANDLES, a
 * tradeable forecast (published as the inferencer publishes one), the agent's intent, the guard's
 * verdict with the instrument rules from Binance's filters, the executor's order at the simulator
 * and its fill from the user-data stream. Nothing in it is OKX.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const PLUGINS = [
  'plugins/binance',
  'plugins/llm-offline',
  'actors/feed',
  'actors/validator',
  'actors/risk-guard',
  'actors/executor',
  'actors/agent',
];
const MIN = 60_000;
const START = Date.UTC(2026, 0, 5);
const INST = 'BTCUSDT';

let nats: TestNats;
let sim: BinanceSimulator;
let host: ActorHost;

const plan = parsePlan(
  `apiVersion: kokex/v1
kind: Plan
metadata: { name: bnloop }
spec:
  venue: { name: binance, mode: sim, sim: { speed: 1 } }
  instrument: ${INST}
  timeframe: 1m
  data: { window: 2h }
  agent: { provider: offline-policy, triggers: [auto_inference] }
  risk:
    maxNotional: 2000
    maxPositionNotional: 5000
    maxDailyLoss: 150
    maxOpenOrders: 4
    orderRate: { perMinute: 20, perHour: 200 }
    priceBand: 0.05
    maxDataAgeBars: 1000`,
  'bnloop.yaml',
);

async function stored<T>(filter: string, decode: (d: Uint8Array) => Envelope<T>): Promise<Array<Envelope<T>>> {
  const out: Array<Envelope<T>> = [];
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: filter, seq } as never).catch(() => null);
    if (!msg) return out;
    out.push(decode(msg.data));
    seq = msg.seq + 1;
  }
}

beforeAll(async () => {
  nats = await startTestNats();
  sim = new BinanceSimulator({ data: syntheticBars({ count: 1000, start: START, startPrice: 60_000 }), startAt: START + 500 * MIN });
  const { port } = await sim.start({ port: 0 });
  await applyPlan(nats.bus, plan);
  const adapters = {
    binance: {
      simPort: port,
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 },
      http: { retryDelayMs: 20, maxRetries: 2, timeoutMs: 3000 },
    },
  };
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['feed', 'validator', 'risk-guard', 'executor', 'agent'],
    config: {
      feed: { adapters, contextTimeframes: [], retryMs: 200 },
      validator: { adapters, contextTimeframes: [], retryMs: 200 },
      'risk-guard': { adapters, pollMs: 200 },
      executor: { adapters, reconnectMs: 200, retryBackoffMs: [50, 100] },
      agent: { venues: adapters },
    },
    heartbeatMs: 200,
  });
  for (const dir of PLUGINS) await host.loadPlugin(resolve(REPO, dir));
  await host.start();
  const executor = () => host.statuses().find((s) => s.kind === 'executor');
  await eventually(() => (executor()?.detail.venues as Array<{ state: string }>)?.every((v) => v.state === 'ready'), 20_000);
  await eventually(async () => (await nats.bus.jsm.consumers.list(Streams.forecasts).next()).length > 0, 20_000);
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await sim?.stop();
  await nats?.stop();
});

describe('a binance plan: feed → validator → agent → guard → executor on binance-sim', () => {
  it('stores validated candles, decides, approves and fills', async () => {
    const key = { venue: 'binance', inst: INST, tf: '1m' };
    // The feed backfills the window over REST; the live stream adds the bars the simulator closes.
    await eventually(async () => (await storedCandles(nats.bus, key)).length >= 100, 30_000);
    const before = sim.now();
    sim.step(2);
    await eventually(async () => (await storedCandles(nats.bus, key)).some((c) => c.ts === before + MIN), 20_000);
    const candles = await storedCandles(nats.bus, key);
    const ts = candles.map((c) => c.ts);
    expect(new Set(ts).size).toBe(ts.length);
    expect(candles.every((c) => c.venue === 'binance' && c.confirmed)).toBe(true);
    const last = candles.at(-1) as (typeof candles)[number];
    expect(last.close).toBe(sim.bars.find((b) => b.ts === last.ts)?.close);

    const fc = sampleForecast({ venue: 'binance', inst: INST, tf: '1m', pUp: 0.72, asOf: last.ts, lastClose: last.close });
    await nats.bus.publish(ForecastContract, subject('forecast', { inst: INST, tf: '1m' }), fc, {
      id: 'fc-bn-1',
      correlationId: 'bn-corr',
      eventTime: last.ts + MIN,
    });

    let intents: Array<Envelope<OrderIntent>> = [];
    await eventually(async () => {
      intents = await stored('kokex.order.intent.bnloop.>', (d) => OrderIntentContract.decode(d));
      return intents.length === 1;
    }, 20_000);
    const intent = intents[0] as (typeof intents)[number];
    expect(intent.data).toMatchObject({ plan: 'bnloop', inst: INST, side: 'buy', type: 'market', reduceOnly: false });
    const cl = intent.data.clientOrderId;

    let verdict: Envelope<OrderVerdict> | undefined;
    await eventually(async () => {
      verdict = (await stored('kokex.order.verdict.bnloop.>', (d) => OrderVerdictContract.decode(d))).find(
        (v) => v.data.clientOrderId === cl,
      );
      return verdict !== undefined;
    }, 20_000);
    expect(verdict?.data).toMatchObject({ decision: 'approve', reason: 'OK' });

    const events = () => stored('kokex.order.event.binance.>', (d) => OrderEventContract.decode(d));
    await eventually(async () => (await events()).some((e) => e.data.clientOrderId === cl && e.data.kind === 'filled'), 20_000);
    const filled = (await events()).find((e) => e.data.clientOrderId === cl && e.data.kind === 'filled');
    expect(filled?.data).toMatchObject({ filledSize: intent.data.size, avgPrice: sim.price() });
    expect(filled?.correlationId).toBe('bn-corr');
    // The venue holds the position the fill made, in base units (contract value 1).
    expect(sim.account().positions.get(INST)?.amount).toBeCloseTo(intent.data.size, 9);
  }, 90_000);

  it("checks intents with Binance's own rules: LOT_SIZE minQty and step from exchangeInfo", async () => {
    const candles = await storedCandles(nats.bus, { venue: 'binance', inst: INST, tf: '1m' });
    const last = candles.at(-1) as (typeof candles)[number];
    const send = async (id: string, size: number) => {
      const intent: OrderIntent = {
        plan: 'bnloop',
        venue: 'binance',
        inst: INST,
        side: 'buy',
        size,
        type: 'market',
        reduceOnly: false,
        clientOrderId: id,
        origin: { kind: 'rule', who: 'test', why: 'binance rules' },
        basis: { kind: 'manual' },
        refs: {},
      };
      await nats.bus.publish(OrderIntentContract, subject('orderIntent', { plan: 'bnloop', inst: INST }), intent, {
        id: `intent:${id}`,
        eventTime: last.ts + MIN,
      });
      let v: OrderVerdict | undefined;
      await eventually(async () => {
        v = (await stored('kokex.order.verdict.bnloop.>', (d) => OrderVerdictContract.decode(d))).find(
          (e) => e.data.clientOrderId === id,
        )?.data;
        return v !== undefined;
      }, 20_000);
      return v as OrderVerdict;
    };
    // 0.0006 BTC is under BTCUSDT's minQty 0.001 (LOT_SIZE), the minimum the guard learns from the adapter.
    expect(await send('bnsmall1', 0.0006)).toMatchObject({ decision: 'deny', rule: 'instrument.minSize', limit: 0.001 });
    // 0.0123 rounds down to Binance's step 0.001: approved at 0.012, and that is what the venue fills.
    const approved = await send('bnstep1', 0.0123);
    expect(approved).toMatchObject({ decision: 'approve' });
    const events = () => stored('kokex.order.event.binance.>', (d) => OrderEventContract.decode(d));
    await eventually(async () => (await events()).some((e) => e.data.clientOrderId === 'bnstep1' && e.data.kind === 'filled'), 20_000);
    expect((await events()).find((e) => e.data.clientOrderId === 'bnstep1' && e.data.kind === 'filled')?.data.filledSize).toBeCloseTo(
      0.012,
      9,
    );
  }, 60_000);
});
