/**
 * The guard inside `kokex up` while the inferencer forecasts (issue 12 finding 3): the risk guard
 * and the inferencer in one host process, as `kokex up` runs them, the inferencer forecasting
 * the demo plan's series (shipped model, lookback 96, horizon 24, 32 paths) on a candle every
 * BENCH_UPGUARD_CANDLE_MS (default 1000: the demo's `sim.speed: 60`, one 1m bar a second), and
 * the guard judging a steady BENCH_UPGUARD_RATE intents/s. Each run on a fresh nats-server: the
 * guard alone (no inferencer); the inferencer's inference in its worker thread (`thread: worker`,
 * the default, nice 10); the same thread at the process's priority (`worker0`, `threadNice: 0`);
 * and on the host's event loop (`thread: inline`). Then a burst of BENCH_UPGUARD_BURST intents at
 * once, still forecasting.
 *
 * The load (candles, intents) comes from a second process, the driver (this script with
 * --driver), which times intent → verdict on its own clock from the moment each intent was due
 * (open loop: a late send counts against the host, not hidden by it). The host process reports
 * its event loop's delay over the steady window.
 *
 *   npm run bench -- up-guard [--json] [--modes=alone,worker,worker0,inline]
 *   BENCH_UPGUARD_ROUNDS=1 BENCH_UPGUARD_SECONDS=20 BENCH_UPGUARD_RATE=100 BENCH_UPGUARD_CANDLE_MS=1000 BENCH_UPGUARD_BURST=2000 …
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  ActorHost,
  applyPlan,
  type Bus,
  barClose,
  type Candle,
  CandleContract,
  candleMessageId,
  connectBus,
  createLogger,
  ForecastContract,
  type OrderIntent,
  OrderIntentContract,
  OrderVerdictContract,
  type Plan,
  parsePlan,
  seededRandom,
  subject,
  subjectFilter,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { guardBenchPlan } from './lib/fixtures.js';
import { machine, percentile } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const SECONDS = Number(process.env.BENCH_UPGUARD_SECONDS ?? 20);
const RATE = Number(process.env.BENCH_UPGUARD_RATE ?? 100);
const CANDLE_MS = Number(process.env.BENCH_UPGUARD_CANDLE_MS ?? 1000);
const BURST = Number(process.env.BENCH_UPGUARD_BURST ?? 2000);
const WARMUP_S = 3;
const MODES = (args.find((a) => a.startsWith('--modes='))?.slice('--modes='.length) ?? 'alone,worker,worker0,inline').split(',') as Mode[];
/** `worker0`: the worker thread at the process's priority (`threadNice: 0`), to show what the nice value adds. */
type Mode = 'alone' | 'worker' | 'worker0' | 'inline';
const ROUNDS = Number(process.env.BENCH_UPGUARD_ROUNDS ?? 1);

const PRICE = 43_000;
const SWAP = 'BTC-USDT-SWAP';
const ETH = 'ETH-USDT-SWAP';
const MIN = 60_000;
/** Market time of the guard's plans (the simulator's clock): the close of one bar. */
const BAR = Date.UTC(2026, 0, 5, 2);
const MARKET = BAR + MIN;
/** The inferencer's series starts here and moves one bar per candle the driver sends. */
const ETH_START = Date.UTC(2026, 0, 1);
const HISTORY = 120;

/** The report: stdout, or stderr with --json (stdout then carries one JSON object). */
const say = (line: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);

function ethCandle(k: number, rnd: () => number, last: { close: number }): Candle {
  const open = last.close;
  const close = open * (1 + (rnd() - 0.5) * 0.004);
  last.close = close;
  return {
    venue: 'okx',
    inst: ETH,
    tf: '1m',
    ts: ETH_START + k * MIN,
    open,
    high: Math.max(open, close) * (1 + rnd() * 0.001),
    low: Math.min(open, close) * (1 - rnd() * 0.001),
    close,
    volume: 10 + rnd() * 5,
    confirmed: true,
  };
}

const publishCandle = (bus: Bus, c: Candle) =>
  bus.publish(CandleContract, subject('candle', c), c, {
    id: candleMessageId(c.venue, c.inst, c.tf, c.ts),
    source: 'bench-feed',
    eventTime: barClose(c.ts, c.tf),
  });

// ---------------------------------------------------------------------------------------------
// The driver: a process of its own that feeds candles and intents and times the verdicts.

interface DriverResult {
  steady: { sent: number; verdicts: number; perSecond: number; p50: number; p99: number; max: number; lost: number };
  burst: { intents: number; perSecond: number; p99: number };
  forecasts: { count: number; perSecond: number; computeMsP50: number };
  candles: number;
}

async function driver(url: string): Promise<void> {
  const bus = await connectBus({ url, name: 'bench-driver' });
  const rnd = seededRandom(7);
  const last = { close: 2_300 };
  for (let k = 0; k < HISTORY; k++) ethCandle(k, rnd, last); // the same walk as the history the host was given
  let k = HISTORY;
  let candles = 0;
  const forecasts: number[] = [];
  let counting = false;
  const fsub = bus.nc.subscribe(subjectFilter('forecast'), {
    callback: (_e, m) => {
      if (counting) forecasts.push(ForecastContract.decode(m.data).data.computeMs);
    },
  });
  const feed = setInterval(() => {
    void publishCandle(bus, ethCandle(k++, rnd, last)).then(() => candles++);
  }, CANDLE_MS);

  const seen = new Map<string, number>();
  const vsub = bus.nc.subscribe(subjectFilter('orderVerdict'), {
    callback: (_e, m) => {
      const v = OrderVerdictContract.decode(m.data).data;
      if (!seen.has(v.clientOrderId)) seen.set(v.clientOrderId, performance.now());
    },
  });
  let serial = 0;
  const intent = (plan: string): OrderIntent => ({
    plan,
    venue: 'okx',
    inst: SWAP,
    side: 'buy',
    size: 1,
    type: 'limit',
    price: PRICE * 0.8,
    reduceOnly: false,
    clientOrderId: `u${(serial++).toString(36)}x${process.pid.toString(36)}`,
    origin: { kind: 'rule', who: 'bench', why: 'guard inside kokex up' },
    basis: { kind: 'manual' },
    refs: {},
  });
  const send = (i: OrderIntent) =>
    bus.publish(OrderIntentContract, subject('orderIntent', { plan: i.plan, inst: SWAP }), i, {
      id: `intent:${i.clientOrderId}`,
      eventTime: MARKET,
    });

  /** RATE intents a second for `seconds`, each due at t0 + n / RATE; returns each one's due time. */
  const steady = async (plan: string, seconds: number) => {
    const due = new Map<string, number>();
    const t0 = performance.now();
    const total = Math.round(seconds * RATE);
    for (let n = 0; n < total; n++) {
      const at = t0 + (n * 1000) / RATE;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const i = intent(plan);
      due.set(i.clientOrderId, at);
      void send(i);
    }
    return { due, t0 };
  };

  await steady('warm', WARMUP_S);
  counting = true;
  const { due, t0 } = await steady('steady', SECONDS);
  const end = t0 + SECONDS * 1000;
  // Verdicts still owed get 10 s more; one later than that counts as lost.
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline && [...due.keys()].some((id) => !seen.has(id))) await new Promise((r) => setTimeout(r, 20));
  const latencies = [...due].filter(([id]) => seen.has(id)).map(([id, at]) => (seen.get(id) as number) - at);
  // Verdicts/s: the window's verdicts over the time from its first intent to its last verdict (the
  // rate when the guard keeps up, its capacity when it falls behind).
  const lastVerdict = Math.max(end, ...[...due.keys()].map((id) => seen.get(id) ?? 0));
  const steadyResult = {
    sent: due.size,
    verdicts: latencies.length,
    perSecond: latencies.length / ((lastVerdict - t0) / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: Math.max(...latencies),
    lost: due.size - latencies.length,
  };
  const forecastSpan = (performance.now() - t0) / 1000;
  const forecastCount = forecasts.length;

  // The burst: every intent at once (256 publishes in flight), timed to the last verdict.
  const batch = Array.from({ length: BURST }, () => intent('burst'));
  const b0 = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (const i of batch) {
    inFlight.push(send(i));
    if (inFlight.length >= 256) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const bDeadline = performance.now() + 120_000;
  while (performance.now() < bDeadline && !batch.every((i) => seen.has(i.clientOrderId))) await new Promise((r) => setTimeout(r, 5));
  const bLat = batch.map((i) => (seen.get(i.clientOrderId) ?? Number.NaN) - b0);
  const bLast = Math.max(...bLat.filter(Number.isFinite));
  clearInterval(feed);
  fsub.unsubscribe();
  vsub.unsubscribe();
  const result: DriverResult = {
    steady: steadyResult,
    burst: { intents: BURST, perSecond: BURST / (bLast / 1000), p99: percentile(bLat, 0.99) },
    forecasts: {
      count: forecastCount,
      perSecond: forecastCount / forecastSpan,
      computeMsP50: percentile(forecasts, 0.5),
    },
    candles,
  };
  await bus.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------
// The host side: nats-server, the plans, one host with the guard (and the inferencer).

async function inferencerPlan(): Promise<Plan> {
  const file = resolve(REPO, 'plans/demo.yaml');
  const demo = parsePlan(await readFile(file, 'utf8'), file);
  return { ...demo, metadata: { ...demo.metadata, name: 'upguard-eth' }, spec: { ...demo.spec, instrument: ETH } } as Plan;
}

interface RunResult extends DriverResult {
  mode: Mode;
  loop: { p50: number; p99: number; max: number };
  load: number[];
}

async function run(mode: Mode): Promise<RunResult> {
  const nats = await startTestNats();
  const log = createLogger({ level: 'error' });
  try {
    const bus = nats.bus;
    const btc = {
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
    await bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), btc, {
      id: 'bench:candle',
      eventTime: MARKET,
    });
    const rnd = seededRandom(7);
    const last = { close: 2_300 };
    for (let k = 0; k < HISTORY; k++) await publishCandle(bus, ethCandle(k, rnd, last));
    for (const name of ['warm', 'steady', 'burst']) await applyPlan(bus, guardBenchPlan(name, SWAP));
    await applyPlan(bus, await inferencerPlan());
    const instruments = {
      [SWAP]: { tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 },
      [ETH]: { tickSize: 0.01, lotSize: 0.01, minSize: 0.01, contractValue: 0.1 },
    };
    const kinds = mode === 'alone' ? ['risk-guard'] : ['risk-guard', 'inferencer'];
    const host = new ActorHost({
      bus,
      log,
      kinds,
      config: {
        'risk-guard': { instruments },
        ...(mode === 'alone' ? {} : { inferencer: mode === 'worker0' ? { thread: 'worker', threadNice: 0 } : { thread: mode } }),
      },
    });
    await host.loadPlugin(resolve(REPO, 'actors/risk-guard'));
    if (mode !== 'alone') await host.loadPlugin(resolve(REPO, 'actors/inferencer'));
    await host.start();

    const loop = monitorEventLoopDelay({ resolution: 5 });
    const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--driver', nats.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // The loop's delay over the steady window only (the driver's warm-up first).
    const startLoop = setTimeout(() => loop.enable(), WARMUP_S * 1000 + 500);
    const stopLoop = setTimeout(() => loop.disable(), (WARMUP_S + SECONDS) * 1000 + 500);
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    clearTimeout(startLoop);
    clearTimeout(stopLoop);
    loop.disable();
    await host.stop();
    if (code !== 0) throw new Error(`the driver exited with code ${code}`);
    const result = JSON.parse(out.trim().split('\n').pop() as string) as DriverResult;
    const ms = (ns: number) => ns / 1e6;
    return {
      mode,
      ...result,
      loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      load: loadavg().map((l) => Number(l.toFixed(2))),
    };
  } finally {
    await nats.stop();
  }
}

async function main(): Promise<void> {
  const header = machine(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  say(`machine: ${header}`);
  say(
    `guard + inferencer in one host: ${RATE} intents/s for ${SECONDS} s (after ${WARMUP_S} s of warm-up), a candle every ${CANDLE_MS} ms; then ${BURST} intents at once`,
  );
  const results: RunResult[] = [];
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of MODES) {
      const r = await run(mode);
      results.push(r);
      const f = (x: number | null) => (x !== null && Number.isFinite(x) ? x.toFixed(1) : '–');
      say(
        `${mode.padEnd(7)} verdicts/s ${f(r.steady.perSecond)} (${r.steady.verdicts}/${r.steady.sent}, lost ${r.steady.lost}); intent → verdict p50 ${f(r.steady.p50)} ms p99 ${f(r.steady.p99)} ms max ${f(r.steady.max)} ms; ` +
          `burst ${f(r.burst.perSecond)} verdicts/s; forecasts ${r.forecasts.count} (${f(r.forecasts.perSecond)}/s, compute p50 ${f(r.forecasts.computeMsP50)} ms); ` +
          `host event loop delay p99 ${f(r.loop.p99)} ms max ${f(r.loop.max)} ms; load ${r.load.join(' ')}`,
      );
    }
  if (JSON_OUT) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'up-guard', machine: header, rate: RATE, seconds: SECONDS, candleMs: CANDLE_MS, burst: BURST, results })}\n`,
    );
  }
}

if (args[0] === '--driver') await driver(args[1] as string);
else await main();
