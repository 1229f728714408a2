import { resolve } from 'node:path';
import {
  ActorHost,
  ApprovedOrderContract,
  applyPlan,
  CandleContract,
  type Envelope,
  ForecastContract,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDurables, conversationIdFor, readTurns } from '../src/index.js';
import { DIRS, forecast, SWAP } from './support.js';

/**
 * The whole loop on a real nats-server with the OKX simulator as the venue, in one host: a closed
 * candle, a tradeable forecast caused by it (published as the inferencer publishes one), the agent
 * on the offline policy deciding and publishing an intent, the risk guard's verdict and approved
 * order, the executor placing it at the simulator, and the fill — every message of the chain
 * carrying the candle's correlation id.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const PLUGINS = ['plugins/okx', 'actors/risk-guard', 'actors/executor'].map((p) => resolve(REPO, p));
const CORR = 'loop-corr-1';
const CANDLE_TS = Date.UTC(2026, 0, 5, 2);
const PRICE = 43_000;
const MIN = 60_000;

/** The simulator on a flat market at PRICE (as the risk guard's order-path tests run it): every fill is at PRICE. */
async function startSim(): Promise<{ sim: OkxSimulator; port: number }> {
  const start = Date.UTC(2026, 0, 5);
  const data = Array.from({ length: 600 }, (_, i) => ({
    ts: start + i * MIN,
    open: PRICE,
    high: PRICE,
    low: PRICE,
    close: PRICE,
    volume: 10,
  }));
  const sim = new OkxSimulator({ data, startAt: start + 100 * MIN, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  return { sim, port };
}

const adapterSettings = (port: number) => ({
  okx: {
    simPort: port,
    ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, requestTimeoutMs: 2000 },
    http: { retryDelayMs: 20, maxRetries: 2, timeoutMs: 3000 },
  },
});

let nats: TestNats;
let sim: OkxSimulator;
let host: ActorHost;

const plan = parsePlan(
  `apiVersion: kokex/v1
kind: Plan
metadata: { name: loop }
spec:
  venue: { name: okx, mode: sim, sim: { speed: 1 } }
  instrument: ${SWAP}
  timeframe: 1m
  agent: { provider: offline-policy, triggers: [auto_inference] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 3000
    maxDailyLoss: 150
    maxOpenOrders: 4
    orderRate: { perMinute: 20, perHour: 200 }
    priceBand: 0.05`,
  'loop.yaml',
);

/** Every message in ORDERS under `filter`, as envelopes, in stream order. */
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
  let port: number;
  ({ sim, port } = await startSim());
  await applyPlan(nats.bus, plan);
  const adapters = adapterSettings(port);
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['risk-guard', 'executor', 'agent'],
    config: {
      'risk-guard': { adapters, pollMs: 200 },
      executor: { adapters, reconnectMs: 200, retryBackoffMs: [50, 100] },
      agent: { venues: adapters },
    },
    heartbeatMs: 200,
  });
  for (const dir of [...PLUGINS, DIRS.offline, DIRS.agent]) await host.loadPlugin(dir);
  await host.start();
  const executor = () => host.statuses().find((s) => s.kind === 'executor');
  await eventually(() => (executor()?.detail.venues as Array<{ state: string }>)?.every((v) => v.state === 'ready'));
  await eventually(async () => Boolean(await nats.bus.jsm.consumers.info(Streams.forecasts, AgentDurables.forecasts).catch(() => null)));
}, 30_000);

afterAll(async () => {
  await host?.stop();
  await sim?.stop();
  await nats?.stop();
});

describe('the full loop: candle → forecast → agent → intent → verdict → order → fill', () => {
  it('carries one correlation id from the candle to the fill', async () => {
    const candleId = `candle:${SWAP}:1m:${CANDLE_TS}`;
    const candle = {
      venue: 'okx',
      inst: SWAP,
      tf: '1m',
      ts: CANDLE_TS,
      open: PRICE,
      high: PRICE,
      low: PRICE,
      close: PRICE,
      volume: 1,
      confirmed: true,
    };
    // Market time: the candle speaks for its close; the forecast caused by it inherits that.
    const close = CANDLE_TS + MIN;
    await nats.bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), candle, {
      id: candleId,
      correlationId: CORR,
      eventTime: close,
    });
    const fc = forecast({ pUp: 0.72, asOf: CANDLE_TS, lastClose: PRICE });
    await nats.bus.publish(ForecastContract, subject('forecast', { inst: SWAP, tf: '1m' }), fc, {
      id: 'fc-loop-1',
      correlationId: CORR,
      causationId: candleId,
      eventTime: close,
    });

    // agent → intent
    let intents: Array<Envelope<OrderIntent>> = [];
    await eventually(async () => {
      intents = await stored('kokex.order.intent.loop.>', (d) => OrderIntentContract.decode(d));
      return intents.length === 1;
    }, 15_000);
    const intent = intents[0] as (typeof intents)[number];
    const conversation = conversationIdFor('auto_inference', 'loop', 'fc-loop-1');
    expect(intent.correlationId).toBe(CORR);
    expect(intent.causationId).toBe('fc-loop-1');
    // The intent speaks for the candle's close, not for the wall clock of the agent's host.
    expect(intent.eventTime).toBe(close);
    expect(intent.data).toMatchObject({ plan: 'loop', inst: SWAP, side: 'buy', type: 'market', reduceOnly: false });
    expect(intent.data.origin).toMatchObject({ kind: 'agent', who: conversation });
    const cl = intent.data.clientOrderId;

    // risk guard → verdict and approved order
    let verdict: Envelope<OrderVerdict> | undefined;
    await eventually(async () => {
      verdict = (await stored('kokex.order.verdict.loop.>', (d) => OrderVerdictContract.decode(d))).find(
        (v) => v.data.clientOrderId === cl,
      );
      return verdict !== undefined;
    }, 10_000);
    expect(verdict?.data).toMatchObject({ decision: 'approve', reason: 'OK' });
    expect(verdict?.correlationId).toBe(CORR);
    const approved = (await stored('kokex.order.approved.>', (d) => ApprovedOrderContract.decode(d))).filter(
      (a) => a.data.clientOrderId === cl,
    );
    expect(approved).toHaveLength(1);
    expect(approved[0]?.correlationId).toBe(CORR);
    expect(approved[0]?.eventTime).toBe(close);

    // executor → simulator → accepted, then the fill on the next simulated bar
    const events = () => stored('kokex.order.event.okx.>', (d) => OrderEventContract.decode(d));
    await eventually(async () => (await events()).some((e) => e.data.clientOrderId === cl && e.data.kind === 'accepted'), 10_000);
    sim.step();
    await eventually(async () => (await events()).some((e) => e.data.clientOrderId === cl && e.data.kind === 'filled'), 10_000);
    const chain = (await events()).filter((e) => e.data.clientOrderId === cl);
    expect(chain.map((e) => e.data.kind)).toEqual(expect.arrayContaining(['accepted', 'filled']));
    for (const e of chain) expect(e.correlationId).toBe(CORR);
    // The fill speaks for the venue's own time: the simulator's tape, not the wall clock.
    const filled = chain.find((e) => e.data.kind === 'filled');
    expect(filled?.eventTime).toBe(filled?.data.venueTs);
    expect(filled?.eventTime).toBe(sim.now());
    // Every event of the order is on market time: the venue's or the approval's, never the wall clock.
    for (const e of chain) expect([close, sim.now(), Date.UTC(2026, 0, 5) + 100 * MIN]).toContain(e.eventTime);
    expect(chain.find((e) => e.data.kind === 'filled')?.data).toMatchObject({ filledSize: intent.data.size, avgPrice: PRICE });

    // and the conversation that decided is on record, ending with the placed order
    await eventually(async () =>
      (await readTurns(nats.bus, 'loop', (t) => t.conversation === conversation)).some((t) => t.turn.record === 'ended'),
    );
    const turns = (await readTurns(nats.bus, 'loop', (t) => t.conversation === conversation)).map((t) => t.turn);
    expect(turns.filter((t) => t.record === 'tool_call').map((t) => (t as { tool?: string }).tool)).toEqual([
      'get_forecast',
      'get_positions',
      'place_order',
    ]);
  }, 40_000);
});
