/**
 * Backtest benchmark (issue 11): prints figures with the machine they ran on, asserts nothing.
 *
 * 1. raw: a JetStream publish → consume loop in lockstep (publish one, pull it on a durable, ack it,
 *    next), the same count as the pipeline's bars, in this run: the floor of one bus hop.
 * 2. pipeline, forecasting off: `runBacktest` (the harness of `kokex backtest`) with feed →
 *    validator → agent (offline policy on candles, trigger kline_event) → risk guard → executor →
 *    simulator, in lockstep: bars/s, and the time a month of 1m bars (43,200) would take.
 * 3. forecasting on: the same with the inferencer (the shipped model, the plan's settings), as a
 *    fraction of the inferencer's standalone rate on the same settings (the inferencer alone on a
 *    bus, one candle published at a time, waiting for each forecast).
 *
 * Besides bars/s (wall time, which under load measures the machine's queue as much as the code),
 * the CPU each replayed bar cost this process (every actor and the harness run in it) and its
 * nats-server (Linux /proc): the figure that moves with the code rather than the load.
 *
 * Knobs: BENCH_BACKTEST_BARS (default 300), BENCH_BACKTEST_FORECAST_BARS (default 40),
 * BENCH_BACKTEST_ONLY (comma list of raw, off, on). `--json`: one JSON object on stdout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ActorHost,
  applyPlan,
  type Candle,
  CandleContract,
  candleMessageId,
  createLogger,
  ForecastContract,
  loadBacktestData,
  parsePlan,
  runBacktest,
  seededRandom,
  subject,
} from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { machine } from './lib/report.js';

const REPO = resolve(import.meta.dirname, '../..');
const BARS = Number(process.env.BENCH_BACKTEST_BARS ?? 300);
const FORECAST_BARS = Number(process.env.BENCH_BACKTEST_FORECAST_BARS ?? 40);
const HISTORY = 60;
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const INST = 'BTC-USDT-SWAP';
const log = createLogger({ level: 'error' });

function walk(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const rows: string[] = [];
  let p = 43_000;
  for (let i = 0; i < count; i++) {
    const close = Math.round(p * (1 + (rand() - 0.5) * 0.006) * 10) / 10;
    rows.push(`${T0 + i * MIN},${p},${Math.max(p, close) + 1},${Math.min(p, close) - 1},${close},${(1 + rand() * 9).toFixed(3)}`);
    p = close;
  }
  return rows;
}

function plan(name: string, forecasting: boolean): string {
  return `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: sim }
  instrument: ${INST}
  timeframe: 1m
  data: { window: 1h, sources: [venue] }
  forecast: { lookback: 32, horizon: 4, paths: 4, skillGate: { window: 50, minScored: 10 } }
  agent: { provider: offline-policy, triggers: [${forecasting ? 'auto_inference' : 'kline_event'}] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 3000
    maxDailyLoss: 150
    maxOpenOrders: 2
    orderRate: { perMinute: 2, perHour: 30 }
    priceBand: 0.01
    requireTradeableForecast: false
`;
}

/** Publish one, pull it on a durable, ack it (acknowledged by the server), next. */
async function rawLoop(count: number): Promise<number> {
  const nats = await startTestNats({ provision: false });
  try {
    const { bus } = nats;
    await bus.provision({ streams: [{ name: 'BENCH_RAW', subjects: ['bench.raw.>'] }], kv: [], objectStores: [] });
    await bus.jsm.consumers.add('BENCH_RAW', { durable_name: 'raw', ack_policy: 'explicit' as never });
    const consumer = await bus.js.consumers.get('BENCH_RAW', 'raw');
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const candle: Candle = {
        venue: 'okx',
        inst: 'RAW-USDT',
        tf: '1m',
        ts: T0 + i * MIN,
        open: 1,
        high: 1,
        low: 1,
        close: 1,
        volume: 1,
        confirmed: true,
      };
      const { bytes } = CandleContract.encode(candle, { id: candleMessageId('okx', 'RAW-USDT', '1m', candle.ts) });
      await bus.js.publish('bench.raw.x', bytes);
      const m = await consumer.next({ expires: 5000 });
      if (!m) throw new Error('raw loop: nothing to consume');
      CandleContract.decode(m.data);
      await m.ackAck();
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await nats.stop();
  }
}

/** The nats-server processes this process started (Linux /proc), found once per run. */
let natsPids: string[] = [];

function statOf(pid: string): { comm: string; ppid: number; ticks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds this process's nats-server has used (clock ticks of 10 ms). */
function natsCpuMs(): number {
  if (!natsPids.length || !statOf(natsPids[0] as string))
    natsPids = readdirSync('/proc').filter((pid) => {
      const s = /^\d+$/.test(pid) ? statOf(pid) : undefined;
      return s?.comm === 'nats-server' && s.ppid === process.pid;
    });
  return natsPids.reduce((ms, pid) => ms + (statOf(pid)?.ticks ?? 0) * 10, 0);
}

/** CPU the replay loop used per bar: this process (every actor and the harness) and its nats-server. */
interface CpuPerBar {
  nodeMs: number;
  natsMs: number;
}

function cpuMeter() {
  let first: { bar: number; node: NodeJS.CpuUsage; nats: number } | undefined;
  let last: typeof first;
  return {
    mark(bar: number) {
      const at = { bar, node: process.cpuUsage(), nats: natsCpuMs() };
      if (!first) first = at;
      else last = at;
    },
    perBar(): CpuPerBar | undefined {
      if (!first || !last || last.bar === first.bar) return undefined;
      const bars = last.bar - first.bar;
      const nodeNow = last.node.user + last.node.system - (first.node.user + first.node.system);
      return { nodeMs: Number((nodeNow / 1000 / bars).toFixed(1)), natsMs: Number(((last.nats - first.nats) / bars).toFixed(1)) };
    },
  };
}

async function pipeline(root: string, name: string, bars: number, forecasting: boolean) {
  const dir = join(root, name);
  const dataDir = join(dir, 'data');
  await (await import('node:fs/promises')).mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, `okx_${INST}_1m_bench.csv`), `ts,open,high,low,close,volume\n${walk(HISTORY + bars, 5).join('\n')}\n`);
  const planFile = join(dir, 'plan.yaml');
  await writeFile(planFile, plan(name, forecasting));
  const { discoverPlugins } = await import('@kokex/core');
  const from = T0 + HISTORY * MIN;
  const cpu = cpuMeter();
  const run = await runBacktest({
    progress: (p) => cpu.mark(p.done),
    planFile,
    dataDir,
    from,
    to: from + bars * MIN,
    forecasting,
    log,
    pluginDirs: await discoverPlugins([join(REPO, 'actors'), join(REPO, 'plugins')]),
    codeVersion: 'bench',
  });
  return { rate: run.replayed / run.wallSeconds, run, cpu: cpu.perBar() };
}

/** The inferencer alone: history in MD_CANDLES, then one candle at a time, each awaited as a forecast. */
async function inferencerAlone(root: string, count: number): Promise<number> {
  const nats = await startTestNats();
  const { bus } = nats;
  const dataDir = join(root, 'alone');
  await (await import('node:fs/promises')).mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, `okx_${INST}_1m_bench.csv`), `ts,open,high,low,close,volume\n${walk(HISTORY + count, 5).join('\n')}\n`);
  const bars = (await loadBacktestData({ dir: dataDir, inst: INST, tf: '1m' })).bars;
  const candle = (i: number): Candle => ({ venue: 'okx', inst: INST, tf: '1m', ...(bars[i] as (typeof bars)[number]), confirmed: true });
  const key = { venue: 'okx', inst: INST, tf: '1m' };
  const publish = (i: number) =>
    bus.publish(CandleContract, subject('candle', key), candle(i), {
      id: candleMessageId('okx', INST, '1m', candle(i).ts),
      eventTime: candle(i).ts + MIN,
    });
  const host = new ActorHost({ bus, log, kinds: ['inferencer'] });
  try {
    await applyPlan(bus, parsePlan(plan('alone', true), 'alone.yaml'), 'alone.yaml');
    for (let i = 0; i < HISTORY; i++) await publish(i);
    const seen = new Set<number>();
    const sub = bus.nc.subscribe(subject('forecast', { inst: INST, tf: '1m' }), {
      callback: (_e, m) => {
        try {
          seen.add(ForecastContract.decode(m.data).data.asOf);
        } catch {
          // ignored
        }
      },
    });
    await host.loadPlugin(join(REPO, 'actors/inferencer'));
    await host.start();
    // The first forecast loads the model: not counted.
    await publish(HISTORY);
    const wait = async (ts: number) => {
      const end = performance.now() + 120_000;
      while (!seen.has(ts)) {
        if (performance.now() > end) throw new Error(`no forecast of ${new Date(ts).toISOString()}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await wait(candle(HISTORY).ts);
    const started = performance.now();
    for (let i = HISTORY + 1; i < HISTORY + count; i++) {
      await publish(i);
      await wait(candle(i).ts);
    }
    const rate = (count - 1) / ((performance.now() - started) / 1000);
    sub.unsubscribe();
    return rate;
  } finally {
    await host.stop().catch(() => undefined);
    await nats.stop();
  }
}

const ONLY = process.env.BENCH_BACKTEST_ONLY?.split(',');
const want = (part: string) => !ONLY || ONLY.includes(part);
const JSON_OUT = process.argv.includes('--json');
/** The human-readable report: stdout, or stderr with --json (stdout then carries one JSON object). */
const say = (line: string) => (JSON_OUT ? console.error(line) : console.log(line));
const load = () => loadavg().map((l) => Number(l.toFixed(1)));
const ms = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(1));

const root = await mkdtemp(join(tmpdir(), 'kokex-bench-backtest-'));
const result: Record<string, unknown> = { bench: 'backtest', machine: machine(), loadAverage: { start: load() } };
try {
  say(`\n== backtest (${machine()}, load average ${load().join(' ')})`);
  if (want('raw')) {
    const raw = await rawLoop(BARS);
    result.raw = { messages: BARS, messagesPerSec: Number(raw.toFixed(1)) };
    say(`raw JetStream publish → consume loop (lockstep, ${BARS} msgs): ${raw.toFixed(0)} msgs/s`);
  }
  if (want('off')) {
    const off = await pipeline(root, 'off', BARS, false);
    const month = 43_200 / off.rate;
    result.forecastingOff = {
      bars: off.run.replayed,
      decisions: off.run.collected.decisions.conversations,
      barsPerSec: Number(off.rate.toFixed(2)),
      monthOf1mBarsSec: Math.round(month),
      cpuPerBarMs: off.cpu,
      loadAverage: load(),
    };
    say(
      `pipeline, forecasting off (${off.run.replayed} bars, ${off.run.collected.decisions.conversations} agent decisions): ${off.rate.toFixed(1)} bars/s; 43,200 1m bars would take ${month.toFixed(0)} s (target < 60 s); CPU per bar: this process ${ms(off.cpu?.nodeMs)} ms, nats-server ${ms(off.cpu?.natsMs)} ms (load ${load()[0]})`,
    );
  }
  if (want('on')) {
    const on = await pipeline(root, 'on', FORECAST_BARS, true);
    const alone = await inferencerAlone(root, FORECAST_BARS);
    result.forecastingOn = {
      bars: on.run.replayed,
      forecasts: on.run.collected.forecasts.length,
      barsPerSec: Number(on.rate.toFixed(2)),
      inferencerAloneForecastsPerSec: Number(alone.toFixed(2)),
      fraction: Number((on.rate / alone).toFixed(3)),
      cpuPerBarMs: on.cpu,
      loadAverage: load(),
    };
    say(
      `forecasting on (${on.run.replayed} bars, ${on.run.collected.forecasts.length} forecasts): pipeline ${on.rate.toFixed(2)} bars/s; inferencer alone ${alone.toFixed(2)} forecasts/s; fraction ${(on.rate / alone).toFixed(2)} (target ≥ 0.9); CPU per bar: this process ${ms(on.cpu?.nodeMs)} ms, nats-server ${ms(on.cpu?.natsMs)} ms (load ${load()[0]})`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
(result.loadAverage as Record<string, number[]>).end = load();
if (JSON_OUT) console.log(JSON.stringify(result));
