/**
 * The risk guard alone (issue 12 finding 8 and finding 3's guard figures): verdicts/s, intent →
 * verdict latency, and the kill switch's latency from the halt (the control record written) to the
 * first KILL_SWITCH verdict with ≥ 500 intents queued behind the one being judged. One guard in
 * one host, a throw-away nats-server, instruments from the guard's settings (no venue).
 *
 *   node --import tsx --conditions=kokex-source scripts/bench/guard.ts
 *   BENCH_GUARD_INTENTS=3000 BENCH_GUARD_QUEUED=500 …
 */
import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  applyTradingCommand,
  type Bus,
  CandleContract,
  createLogger,
  initialControl,
  type OrderIntent,
  OrderIntentContract,
  OrderVerdictContract,
  readControl,
  subject,
  subjectFilter,
  writeControl,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { guardBenchPlan } from './lib/fixtures.js';
import { machine, percentile } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const INTENTS = Number(process.env.BENCH_GUARD_INTENTS ?? 3000);
const QUEUED = Number(process.env.BENCH_GUARD_QUEUED ?? 500);
const LATENCY_SAMPLES = Number(process.env.BENCH_GUARD_LATENCY_SAMPLES ?? 300);
const SPACING_MS = 10;
const HALTS = Number(process.env.BENCH_GUARD_HALTS ?? 3);
const PRICE = 43_000;
const SWAP = 'BTC-USDT-SWAP';
const MIN = 60_000;
/** Market time of the bench: the close of one bar (the plan runs on the simulator's clock, `sim`). */
const BAR = Date.UTC(2026, 0, 5, 2);
const MARKET = BAR + MIN;
const log = createLogger({ level: 'error' });

const plan = (name: string) => guardBenchPlan(name, SWAP);

let serial = 0;
function intent(planName: string): OrderIntent {
  return {
    plan: planName,
    venue: 'okx',
    inst: SWAP,
    side: 'buy',
    size: 1,
    type: 'limit',
    price: PRICE * 0.8,
    reduceOnly: false,
    clientOrderId: `g${(serial++).toString(36)}x${Date.now().toString(36)}`,
    origin: { kind: 'rule', who: 'bench', why: 'guard benchmark' },
    basis: { kind: 'manual' },
    refs: {},
  };
}

const send = (bus: Bus, i: OrderIntent) =>
  bus.publish(OrderIntentContract, subject('orderIntent', { plan: i.plan, inst: SWAP }), i, {
    id: `intent:${i.clientOrderId}`,
    eventTime: MARKET,
  });

async function until(check: () => boolean, timeoutMs = 300_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error('benchmark condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Verdicts as they are published (core NATS), with the time each arrived. */
function verdictWatch(bus: Bus, planName: string) {
  const seen = new Map<string, { at: number; reason: string }>();
  const sub = bus.nc.subscribe(subjectFilter('orderVerdict', { plan: planName }), {
    callback: (_e, m) => {
      const v = OrderVerdictContract.decode(m.data).data;
      if (!seen.has(v.clientOrderId)) seen.set(v.clientOrderId, { at: performance.now(), reason: v.reason });
    },
  });
  return { seen, stop: () => sub.unsubscribe() };
}

async function publishAll(bus: Bus, intents: OrderIntent[]): Promise<void> {
  let inFlight: Promise<unknown>[] = [];
  for (const i of intents) {
    inFlight.push(send(bus, i));
    if (inFlight.length >= 256) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const nats = await startTestNats();
  try {
    const bus = nats.bus;
    const candle = {
      venue: 'okx',
      inst: SWAP,
      tf: '1m',
      ts: BAR,
      open: PRICE,
      high: PRICE,
      low: PRICE,
      close: PRICE,
      volume: 1,
      confirmed: true,
    };
    await bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), candle, {
      id: 'bench:candle',
      eventTime: MARKET,
    });
    for (const name of ['thru', 'lat', ...Array.from({ length: HALTS }, (_, k) => `halt${k}`)]) await applyPlan(bus, plan(name));
    const instruments = { [SWAP]: { tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 } };
    const host = new ActorHost({ bus, log, kinds: ['risk-guard'], config: { 'risk-guard': { instruments } } });
    await host.loadPlugin(resolve(REPO, 'actors/risk-guard'));
    await host.start();

    // Throughput: every intent published (256 in flight), timed to the last verdict; a warm-up run first.
    const throughput = async () => {
      const w = verdictWatch(bus, 'thru');
      const batch = Array.from({ length: INTENTS }, () => intent('thru'));
      const started = performance.now();
      await publishAll(bus, batch);
      await until(() => batch.every((i) => w.seen.has(i.clientOrderId)));
      w.stop();
      return INTENTS / ((performance.now() - started) / 1000);
    };
    await throughput();
    const perSecond = await throughput();

    // Latency: one intent every SPACING_MS, intent published → verdict heard.
    const lw = verdictWatch(bus, 'lat');
    const sent = new Map<string, number>();
    for (let k = 0; k < LATENCY_SAMPLES; k++) {
      const i = intent('lat');
      sent.set(i.clientOrderId, performance.now());
      await send(bus, i);
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    await until(() => lw.seen.size >= LATENCY_SAMPLES, 60_000);
    lw.stop();
    const latencies = [...sent].map(([id, t]) => (lw.seen.get(id)?.at ?? Number.NaN) - t);

    // Kill switch: 2×QUEUED intents published at once; once the guard has judged a few and at
    // least QUEUED wait, the halt is written; timed to the first KILL_SWITCH verdict.
    const halts: Array<{ ms: number; queued: number; judgedAfterHalt: number }> = [];
    for (let k = 0; k < HALTS; k++) {
      const name = `halt${k}`;
      const w = verdictWatch(bus, name);
      const batch = Array.from({ length: 2 * QUEUED }, () => intent(name));
      await publishAll(bus, batch);
      await until(() => w.seen.size >= 5);
      const queued = batch.length - w.seen.size;
      const current = (await readControl(bus, name)) ?? initialControl('active', 0);
      const halted = applyTradingCommand(current, 'halt', 'bench', 'kill switch latency', MARKET);
      if (!halted) throw new Error('halt refused');
      const before = w.seen.size;
      const t0 = performance.now();
      await writeControl(bus, name, halted);
      await until(() => [...w.seen.values()].some((v) => v.reason === 'KILL_SWITCH'), 60_000);
      const first = Math.min(...[...w.seen.values()].filter((v) => v.reason === 'KILL_SWITCH').map((v) => v.at));
      const judgedAfterHalt = [...w.seen.values()].filter((v) => v.at >= t0 && v.at < first).length;
      halts.push({ ms: first - t0, queued: Math.max(queued, batch.length - before), judgedAfterHalt });
      await until(() => w.seen.size >= batch.length, 120_000);
      w.stop();
    }
    await host.stop();

    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(`guard alone (one guard, ${INTENTS} intents per run, approved limit orders): ${perSecond.toFixed(0)} verdicts/s`);
    console.log(
      `intent → verdict (${LATENCY_SAMPLES} intents, one every ${SPACING_MS} ms): p50 ${ms(percentile(latencies, 0.5))} p99 ${ms(percentile(latencies, 0.99))} max ${ms(Math.max(...latencies))}`,
    );
    console.log(
      `kill switch, halt written → first KILL_SWITCH verdict (${HALTS} runs, ≥ ${QUEUED} intents queued): ${halts.map((h) => `${ms(h.ms)} (${h.queued} queued, ${h.judgedAfterHalt} judged in between)`).join('; ')}; worst ${ms(Math.max(...halts.map((h) => h.ms)))}`,
    );
  } finally {
    await nats.stop();
  }
}

await main();
