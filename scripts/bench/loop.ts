import { resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Bus,
  CandleContract,
  createLogger,
  deletePlan,
  ForecastContract,
  OrderVerdictContract,
  parsePlan,
  subject,
  subjectFilter,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { startScriptedServer, textStream } from '@kokex/llm-common/testing';
import { createOpenAiChatModel } from '@kokex/plugin-llm-openai';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { HumanMessage } from '@langchain/core/messages';
import { forecast } from './lib/fixtures.js';
import { machine, percentile } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const SAMPLES = Number(process.env.BENCH_LOOP_SAMPLES ?? 200);
const TTFT_SAMPLES = Number(process.env.BENCH_TTFT_SAMPLES ?? 50);
const PRICE = 43_000;
const SWAP = 'BTC-USDT-SWAP';
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 2);
const log = createLogger({ level: 'error' });

const ms = (x: number) => `${x.toFixed(1)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function plan(name: string, agent: string) {
  return parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: sim, sim: { speed: 1 } }
  instrument: ${SWAP}
  timeframe: 1m
  agent: { ${agent}, triggers: [auto_inference] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 1000000000
    maxDailyLoss: 1000
    maxOpenOrders: 1000
    orderRate: { perMinute: 10000, perHour: 600000 }
    priceBand: 0.5`,
    `${name}.yaml`,
  );
}

async function publishCandle(bus: Bus, ts: number): Promise<void> {
  const c = { venue: 'okx', inst: SWAP, tf: '1m', ts, open: PRICE, high: PRICE, low: PRICE, close: PRICE, volume: 1, confirmed: true };
  await bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), c, { id: `bench:candle:${ts}` });
}

async function publishForecast(bus: Bus, i: number, asOf: number): Promise<void> {
  const f = forecast({ pUp: 0.72, asOf, lastClose: PRICE });
  await bus.publish(ForecastContract, subject('forecast', { inst: SWAP, tf: '1m' }), f, {
    id: `bench-fc-${i}`,
    correlationId: `bench-${i}`,
  });
}

async function host(bus: Bus, kinds: string[], config: Record<string, unknown>, plugins: string[]): Promise<ActorHost> {
  const h = new ActorHost({ bus, log, kinds, config, heartbeatMs: 1000 });
  for (const p of plugins) await h.loadPlugin(resolve(REPO, p));
  await h.start();
  return h;
}

async function decisionLatency(bus: Bus, port: number): Promise<number[]> {
  await applyPlan(bus, plan('loop', 'provider: offline-policy'));
  const adapters = { okx: { simPort: port } };
  const h = await host(
    bus,
    ['risk-guard', 'agent'],
    // maxPosition large: every sample buys, none is refused for the policy's own position limit.
    { 'risk-guard': { adapters }, agent: { venues: adapters, providers: { 'offline-policy': { maxPosition: 1_000_000 } } } },
    ['plugins/okx', 'actors/risk-guard', 'plugins/llm-offline', 'actors/agent'],
  );
  await sleep(1500);
  const approvedAt = new Map<string, number>();
  const sub = bus.nc.subscribe(subjectFilter('orderVerdict', { plan: 'loop' }), {
    callback: (_e, m) => {
      const v = OrderVerdictContract.decode(m.data);
      if (v.data.decision === 'approve') approvedAt.set(v.correlationId, performance.now());
    },
  });
  const out: number[] = [];
  for (let i = 0; i < SAMPLES + 5; i++) {
    const ts = T0 + i * MIN;
    await publishCandle(bus, ts);
    const t = performance.now();
    await publishForecast(bus, i, ts);
    const deadline = t + 5000;
    while (!approvedAt.has(`bench-${i}`) && performance.now() < deadline) await sleep(0.5);
    const at = approvedAt.get(`bench-${i}`);
    if (at === undefined) console.log(`sample ${i}: no approval within 5 s`);
    else if (i >= 5) out.push(at - t); // the first five warm up
  }
  sub.unsubscribe();
  await h.stop();
  await deletePlan(bus, 'loop');
  return out;
}

async function firstTokens(bus: Bus): Promise<{ nats: number[]; direct: number[] }> {
  const server = await startScriptedServer();
  const baseUrl = `${server.url}/v1`;
  const reply = () => server.reply({ sse: textStream(['Hold: ', 'P(up) ', 'is ', 'weak.'], { prompt: 50, completion: 4 }) });
  const direct: number[] = [];
  const model = await createOpenAiChatModel({ baseUrl, model: 'bench-model' });
  for (let i = 0; i < TTFT_SAMPLES + 5; i++) {
    reply();
    const t = performance.now();
    const stream = await model.stream([new HumanMessage('decide')]);
    let at: number | undefined;
    for await (const chunk of stream) {
      if (at === undefined && typeof chunk.content === 'string' && chunk.content.length > 0) at = performance.now();
    }
    if (i >= 5 && at !== undefined) direct.push(at - t);
  }

  await applyPlan(bus, plan('ttft', `provider: openai, baseUrl: '${baseUrl}', model: bench-model`));
  const h = await host(bus, ['agent'], { agent: {} }, ['plugins/llm-openai', 'actors/agent']);
  await sleep(1500);
  const first = new Map<string, number>();
  const sub = bus.nc.subscribe(subjectFilter('agentToken', { plan: 'ttft' }), {
    callback: (_e, m) => {
      if (!first.has(m.subject)) first.set(m.subject, performance.now());
    },
  });
  const viaNats: number[] = [];
  const base = T0 + 10_000 * MIN;
  for (let i = 0; i < TTFT_SAMPLES + 5; i++) {
    reply();
    const before = first.size;
    const t = performance.now();
    await publishForecast(bus, 100_000 + i, base + i * MIN);
    const deadline = t + 5000;
    while (first.size === before && performance.now() < deadline) await sleep(0.5);
    const at = [...first.values()].at(-1);
    if (first.size === before || at === undefined) console.log(`ttft sample ${i}: no token within 5 s`);
    else if (i >= 5) viaNats.push(at - t);
    await sleep(50); // let the conversation end before the next
  }
  sub.unsubscribe();
  await h.stop();
  await server.close();
  return { nats: viaNats, direct };
}

async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const fresh = await startTestNats();
  const bus = fresh.bus;
  try {
    const bars = Array.from({ length: 20_000 }, (_, i) => ({
      ts: T0 - 100 * MIN + i * MIN,
      open: PRICE,
      high: PRICE,
      low: PRICE,
      close: PRICE,
      volume: 1,
    }));
    const sim = new OkxSimulator({ data: bars, startAt: T0, idleTimeoutMs: 0 });
    const { port } = await sim.start({ port: 0 });
    const lat = await decisionLatency(bus, port);
    console.log(
      `candle close → approved order (offline policy, ${lat.length} samples, sequential, model time excluded): forecast publish → approve verdict p50 ${ms(percentile(lat, 0.5))} p99 ${ms(percentile(lat, 0.99))} max ${ms(Math.max(...lat))}`,
    );
    await sim.stop();
    const tt = await firstTokens(bus);
    console.log(
      `time to first token (${tt.direct.length} samples, local OpenAI-compatible server): direct stream p50 ${ms(percentile(tt.direct, 0.5))} p99 ${ms(percentile(tt.direct, 0.99))}; through the agent and NATS p50 ${ms(percentile(tt.nats, 0.5))} p99 ${ms(percentile(tt.nats, 0.99))}`,
    );
  } finally {
    await fresh.stop();
  }
}

await main();
