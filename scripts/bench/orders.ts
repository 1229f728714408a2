import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Bus,
  CandleContract,
  createLogger,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  OrderVerdictContract,
  subject,
  subjectFilter,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { guardBenchPlan } from './lib/fixtures.js';
import { machine, percentile } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const INTENTS = Number(process.env.BENCH_INTENTS ?? 3000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const SPACING_MS = 40;
const PRICE = 43_000;
const SWAP = 'BTC-USDT-SWAP';
const log = createLogger({ level: 'error' });

const plan = (name: string) => guardBenchPlan(name, SWAP);

/**
 * The market time the benchmark speaks for: the close of the last whole minute. The guard judges an
 * intent at its eventTime against the plan's market clock (moved by the candle), so both carry it.
 */
let marketNow = 0;

async function candle(bus: Bus): Promise<void> {
  const ts = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  marketNow = ts + 60_000;
  const c = {
    venue: 'okx',
    inst: SWAP,
    tf: '1m',
    ts,
    open: PRICE,
    high: PRICE,
    low: PRICE,
    close: PRICE,
    volume: 1,
    confirmed: true,
  };
  await bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), c, {
    id: `bench:${ts}`,
    eventTime: marketNow,
  });
}

let serial = 0;
function intent(planName: string, fields: Partial<OrderIntent> = {}): OrderIntent {
  return {
    plan: planName,
    venue: 'okx',
    inst: SWAP,
    side: 'buy',
    size: 1,
    type: 'limit',
    price: PRICE * 0.8,
    reduceOnly: false,
    clientOrderId: `b${(serial++).toString(36)}x${Date.now().toString(36)}`,
    origin: { kind: 'rule', who: 'bench', why: 'benchmark' },
    basis: { kind: 'manual' },
    refs: {},
    ...fields,
  };
}

async function host(bus: Bus, kinds: string[], config: Record<string, unknown>, dirs: string[]): Promise<ActorHost> {
  const h = new ActorHost({ bus, log, kinds, config });
  for (const d of dirs) await h.loadPlugin(resolve(REPO, d));
  await h.start();
  return h;
}

async function until(check: () => boolean, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('benchmark condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Intents/s through one guard: all published with 256 in flight, timed to the last verdict. */
async function throughput(
  bus: Bus,
  guard: ActorHost,
  planName: string,
  fields: Partial<OrderIntent>,
): Promise<{ rate: number; approved: number }> {
  const decided = () => {
    const totals = guard.statuses()[0]?.detail.totals as { approved: number; denied: number } | undefined;
    return (totals?.approved ?? 0) + (totals?.denied ?? 0);
  };
  const before = decided();
  const approvedBefore = (guard.statuses()[0]?.detail.totals as { approved: number } | undefined)?.approved ?? 0;
  const started = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < INTENTS; i++) {
    const it = intent(planName, fields);
    inFlight.push(
      bus.publish(OrderIntentContract, subject('orderIntent', { plan: planName, inst: SWAP }), it, {
        id: `intent:${it.clientOrderId}`,
        eventTime: marketNow,
      }),
    );
    if (inFlight.length >= 256) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  await until(() => decided() - before >= INTENTS);
  const rate = INTENTS / ((performance.now() - started) / 1000);
  const totals = guard.statuses()[0]?.detail.totals as { approved: number; denied: number };
  return { rate, approved: totals.approved - approvedBefore };
}

async function latency(bus: Bus): Promise<{ verdict: number[]; accepted: number[] }> {
  const sent = new Map<string, number>();
  const verdict: number[] = [];
  const accepted: number[] = [];
  const subs = [
    bus.nc.subscribe(subjectFilter('orderVerdict', { plan: 'lat' }), {
      callback: (_e, m) => {
        const t = sent.get(OrderVerdictContract.decode(m.data).data.clientOrderId);
        if (t !== undefined) verdict.push(performance.now() - t);
      },
    }),
    bus.nc.subscribe(subjectFilter('orderEvent', { venue: 'okx' }), {
      callback: (_e, m) => {
        const e = OrderEventContract.decode(m.data).data;
        const t = e.clientOrderId ? sent.get(e.clientOrderId) : undefined;
        if (t !== undefined && e.kind === 'accepted') accepted.push(performance.now() - t);
      },
    }),
  ];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const it = intent('lat');
    sent.set(it.clientOrderId, performance.now());
    await bus.publish(OrderIntentContract, subject('orderIntent', { plan: 'lat', inst: SWAP }), it, {
      id: `intent:${it.clientOrderId}`,
      eventTime: marketNow,
    });
    await new Promise((r) => setTimeout(r, SPACING_MS));
  }
  await until(() => accepted.length >= LATENCY_SAMPLES, 60_000).catch((err) => {
    console.log({ verdicts: verdict.length, accepted: accepted.length });
    throw err;
  });
  for (const s of subs) s.unsubscribe();
  return { verdict, accepted };
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const nats = await startTestNats();
  try {
    const bus = nats.bus;
    // One plan per run: each starts with an empty book, so its own open-order limit is untouched.
    for (const name of ['thru-warm', 'thru', 'thru-over']) await applyPlan(bus, plan(name));
    await candle(bus);
    const instruments = { [SWAP]: { tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 } };
    const guard = await host(bus, ['risk-guard'], { 'risk-guard': { instruments } }, ['actors/risk-guard']);
    // A short warm-up (JIT, consumer creation), then the measured runs.
    const n = INTENTS;
    await throughput(bus, guard, 'thru-warm', {});
    // Within the plan's limits (the open-order limit fills up after 1,000 approvals: later ones are
    // MAX_OPEN_ORDERS denials, so each run says how many it approved), then all over maxNotional.
    const within = await throughput(bus, guard, 'thru', {});
    const over = await throughput(bus, guard, 'thru-over', { size: 5 });
    console.log(
      `guard throughput (${n} intents per run, one guard): within limits ${within.rate.toFixed(0)} intents/s (${within.approved} approved), over maxNotional ${over.rate.toFixed(0)} intents/s (${over.approved} approved)`,
    );
    await guard.stop();
  } finally {
    await nats.stop();
  }

  // A fresh server: the throughput runs left thousands of approvals no executor should work through.
  const fresh = await startTestNats();
  try {
    const bus = fresh.bus;
    await candle(bus);
    const bars = Array.from({ length: 600 }, (_, i) => ({
      ts: Date.UTC(2026, 0, 5) + i * 60_000,
      open: PRICE,
      high: PRICE,
      low: PRICE,
      close: PRICE,
      volume: 1,
    }));
    const sim = new OkxSimulator({ data: bars, startAt: Date.UTC(2026, 0, 5, 2), idleTimeoutMs: 0 });
    const { port } = await sim.start({ port: 0 });
    await applyPlan(bus, plan('lat'));
    const adapters = { okx: { simPort: port } };
    const path = await host(bus, ['risk-guard', 'executor'], { 'risk-guard': { adapters }, executor: { adapters } }, [
      'plugins/okx',
      'actors/risk-guard',
      'actors/executor',
    ]);
    await until(
      () =>
        (path.statuses().find((s) => s.kind === 'executor')?.detail.venues as Array<{ state: string }> | undefined)?.every(
          (v) => v.state === 'ready',
        ) ?? false,
    );
    const { verdict, accepted } = await latency(bus);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      `latency (${LATENCY_SAMPLES} intents, one every ${SPACING_MS} ms, simulator over localhost REST): intent → verdict p50 ${ms(percentile(verdict, 0.5))} p99 ${ms(percentile(verdict, 0.99))}; intent → accepted p50 ${ms(percentile(accepted, 0.5))} p99 ${ms(percentile(accepted, 0.99))}`,
    );
    await path.stop();
    await sim.stop();
  } finally {
    await fresh.stop();
  }
}

await main();
