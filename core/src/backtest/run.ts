import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type Bus, connectBus } from '../bus/bus.js';
import { freePort, NatsServerProcess } from '../bus/nats-server.js';
import { SimControlEndpoints } from '../contracts/sim-control.js';
import { embeddedCredentials } from '../deploy/embedded.js';
import { AdapterPort } from '../di/tokens.js';
import { ErrorCode, KokexError } from '../errors.js';
import { ActorHost } from '../host/host.js';
import type { Logger } from '../log/logger.js';
import { loadPlanFile } from '../plan/load.js';
import { parseDuration } from '../plan/schedule.js';
import type { Plan } from '../plan/schema.js';
import { applyPlan } from '../plan/store.js';
import { loadPlugin } from '../plugin/loader.js';
import { readPluginPackage } from '../plugin/manifest.js';
import type { MarketDataAdapter } from '../ports/exchange.js';
import { adapterFor } from '../ports/registry.js';
import { barOpen, timeframeMs } from '../time/timeframe.js';
import { type BacktestCollected, collectRun } from './collect.js';
import { type BacktestData, barsToCsv, type GapPolicy, loadBacktestData } from './data.js';
import { deleteRunStreams, NamespaceRelay, newRunNamespace } from './namespace.js';
import { PipelineProbe } from './settle.js';

/**
 * `kokex backtest`: the plan's own actors (the same code as live) against history, through a
 * fresh nats-server on a temporary store, with the OKX simulator in lockstep. Two hosts in this
 * process: first the data side (simulator, feed, validator) fills MD_CANDLES with the plan's
 * history window, then the trading side (inferencer, agent, risk guard, executor) starts on it,
 * so what the trading side sees at the first replayed bar does not depend on how fast history
 * arrived. Then one bar at a time: release, wait until settled, next.
 */
export interface BacktestOptions {
  planFile: string;
  dataDir: string;
  /** First replayed bar (ms, a bar open). Default: the data's first bar plus the plan's history window. */
  from?: number;
  /** End of the replay (ms, exclusive). Default: the end of the data. */
  to?: number;
  /** The forecast sampling seed (the plan's `forecast.seed` when given there, else 1). */
  seed?: number;
  gaps?: GapPolicy;
  /** Run the trainer and scheduler too: the plan's retrain schedule fires in market time. */
  retrain?: boolean;
  /**
   * Run the inferencer (default true). Off, the trading side is agent, risk guard and executor
   * only: what the benchmark measures with a policy on candles (trigger `kline_event`).
   */
  forecasting?: boolean;
  log: Logger;
  /** Plugin folders (as `kokex up` finds them). */
  pluginDirs: string[];
  /** `git describe` or the package version: recorded in the report. */
  codeVersion: string;
  progress?: (p: BacktestProgress) => void;
  signal?: AbortSignal;
  /** How long one bar may take to settle before the run fails (infrastructure; default 120 s). */
  settleTimeoutMs?: number;
  /** Actor settings by kind (as a host's `--config` gives them), e.g. the trainer's training size in tests. */
  actorConfig?: Record<string, Record<string, unknown>>;
  /**
   * Run on this nats-server instead of an embedded one (`--nats URL`): every stream, KV bucket,
   * object store and subject of the run carries the run id (`namespace.ts`), and they are deleted
   * at the end unless `keep`. Credentials as `kokex up` takes them: NATS_USER / NATS_PASSWORD /
   * NATS_NKEY_SEED, else the embedded server's admin when the URL is `kokex up`'s own.
   */
  nats?: { url: string; keep?: boolean; user?: string; password?: string; nkeySeed?: string; run?: string };
  /**
   * Live pacing instead of lockstep (the speed-independence test): the next bar is released every
   * `releaseEveryMs` of wall time (1000 = 60× for 1m bars) whether or not the pipeline has settled
   * on the previous one, as a venue's bars come; only the end waits for it to settle. The start is
   * lockstep's (history loaded, then the trading side up), so what differs is the speed alone.
   */
  releaseEveryMs?: number;
}

export interface BacktestProgress {
  done: number;
  total: number;
  /** Market time of the bar just settled. */
  ts: number;
  /** Wall-clock rate and estimate (progress display only). */
  barsPerSec: number;
  etaMs: number;
}

export interface BacktestRun {
  plan: Plan;
  planFile: string;
  planSha256: string;
  data: BacktestData;
  from: number;
  to: number;
  /** Bars the plan's timeframe replays between from and to, and how many were released. */
  total: number;
  replayed: number;
  partial: boolean;
  seed: number;
  retrain: boolean;
  codeVersion: string;
  /** The plan's history window (ms): what the data side loaded before the first replayed bar. */
  historyMs: number;
  /** Base units per contract (OKX `ctVal`) as the venue lists the instrument; 1 for spot. */
  contractValue: number;
  collected: BacktestCollected;
  /** Wall seconds of the replay loop (for the terminal and the bench; never in report.json). */
  wallSeconds: number;
  /** With `releaseEveryMs`: bars at whose release some consumer still had work waiting (the pipeline was behind). */
  barsBehind?: number;
  /** With `--nats`: the run's namespace on that server, and what was deleted at the end (never in report.json). */
  given?: { url: string; run: string; namePrefix: string; subjectHead: string; kept: boolean; deleted: string[] };
}

const DATA_KINDS = ['okx-sim', 'feed', 'validator'];
const TRADE_KINDS = ['inferencer', 'agent', 'risk-guard', 'executor'];
const RETRAIN_KINDS = ['trainer', 'scheduler', 'clock'];

/** The okx adapter's settings for this run: its simulator, and quick reconnects. */
function adapterSettings(simPort: number) {
  return {
    okx: {
      simPort,
      ws: { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 500 },
    },
  };
}

/**
 * A host serving `kinds`, with the plugins that offer them loaded and the adapters of the others
 * registered lazily (as `kokex host --actors` does), every kind's adapter settings pointing at the
 * simulator on `simPort`. The speed-independence test runs the live path with it too.
 */
export async function startHost(
  bus: Bus,
  log: Logger,
  dirs: string[],
  kinds: string[],
  config: Record<string, Record<string, unknown>>,
  simPort: number,
): Promise<ActorHost> {
  const host = new ActorHost({ bus, log, kinds, config, heartbeatMs: 60_000 });
  for (const dir of dirs) {
    const manifest = (await readPluginPackage(dir)).manifest;
    if (manifest.actors.some((k) => kinds.includes(k)) || manifest.adapters.length > 0) {
      if (manifest.actors.some((k) => kinds.includes(k))) {
        await host.loadPlugin(dir);
        continue;
      }
      for (const a of manifest.adapters) {
        host.adapters.registerLazy(a.port, a.name, async () =>
          (await loadPlugin(dir)).definition.adapters?.find((d) => d.port === a.port && d.name === a.name),
        );
      }
    }
  }
  // Every okx adapter of the host (feed, validator, executor, guard, agent) talks to this run's simulator.
  host.adapters.setDefaults('okx', adapterSettings(simPort).okx);
  await host.start();
  return host;
}

/**
 * The plan as the backtest runs it: on the simulator, replaying the prepared file, with the run's
 * seed. History comes from the venue only (the simulator serves nothing after its now): a data
 * directory or the bundled set would hand a validator or a trainer bars from the future.
 */
function backtestPlan(plan: Plan, file: string, seed: number): Plan {
  const { directory: _, ...data } = plan.spec.data;
  return {
    ...plan,
    spec: {
      ...plan.spec,
      data: { ...data, sources: ['venue'] },
      venue: { ...plan.spec.venue, mode: 'sim', sim: { ...plan.spec.venue.sim, file } },
      forecast: { ...plan.spec.forecast, seed },
    },
  };
}

export async function runBacktest(o: BacktestOptions): Promise<BacktestRun> {
  const planText = await readFile(o.planFile);
  const plan = await loadPlanFile(o.planFile);
  const { instrument: inst, timeframe: tf } = plan.spec;
  if (plan.spec.venue.name !== 'okx')
    throw new KokexError(
      ErrorCode.BacktestRun,
      `plan ${plan.metadata.name} trades ${plan.spec.venue.name}: backtests replay on the OKX simulator only`,
    );
  const data = await loadBacktestData({ dir: o.dataDir, inst, tf, ...(o.gaps ? { gaps: o.gaps } : {}) });
  const barMs = timeframeMs(tf);
  if (barMs % data.barMs !== 0)
    throw new KokexError(ErrorCode.BacktestRun, `the data's ${data.tf} bars do not roll up into the plan's ${tf} bars`);
  const windowMs = parseDuration(plan.spec.data.window) ?? 0;
  const first = (data.bars[0] as { ts: number }).ts;
  const end = (data.bars[data.bars.length - 1] as { ts: number }).ts + data.barMs;
  const from = barOpen(o.from ?? first + windowMs, tf);
  const to = Math.min(o.to ?? end, end);
  const iso = (t: number) => new Date(t).toISOString();
  if (from <= first) throw new KokexError(ErrorCode.BacktestRun, `--from ${iso(from)} leaves no history: the data starts at ${iso(first)}`);
  if (from >= to)
    throw new KokexError(
      ErrorCode.BacktestRun,
      `nothing to replay: --from ${iso(from)} is not before --to ${iso(to)} (data ends ${iso(end)})`,
    );
  const total = Math.floor((to - from) / barMs);
  if (total < 1) throw new KokexError(ErrorCode.BacktestRun, `the window ${iso(from)} → ${iso(to)} holds no whole ${tf} bar`);
  const replayEnd = from + total * barMs;
  const slice = data.bars.filter((b) => b.ts >= Math.max(first, from - windowMs) && b.ts < replayEnd);
  const seed = o.seed ?? plan.spec.forecast.seed ?? 1;

  const tmp = await mkdtemp(join(tmpdir(), 'kokex-backtest-'));
  const csv = join(tmp, `${inst}_${data.tf}.csv`);
  await writeFile(csv, barsToCsv(slice));
  let nats: NatsServerProcess | undefined;
  let relay: NamespaceRelay | undefined;
  let admin: Bus | undefined;
  let given: BacktestRun['given'];
  let bus: Bus | undefined;
  const hosts: ActorHost[] = [];
  let probe: PipelineProbe | undefined;
  try {
    if (o.nats) {
      // A given server: the run's own names on it, through the relay (the actors see core's topology).
      const url = o.nats.url;
      const local = o.nats.user || process.env.NATS_USER ? undefined : embeddedCredentials(url);
      const user = o.nats.user ?? process.env.NATS_USER ?? local?.user;
      const password = o.nats.password ?? process.env.NATS_PASSWORD ?? local?.password;
      const nkeySeed = o.nats.nkeySeed ?? process.env.NATS_NKEY_SEED;
      const creds = { ...(user ? { user } : {}), ...(password ? { password } : {}), ...(nkeySeed ? { nkeySeed } : {}) };
      const ns = newRunNamespace(o.nats.run);
      admin = await connectBus({ url, name: `kokex-backtest-${ns.run}-admin`, ...creds });
      relay = NamespaceRelay.fromUrl(ns, url);
      await relay.start();
      bus = await connectBus({ url: relay.url, name: `kokex-backtest-${ns.run}`, ...creds });
      given = { url, run: ns.run, namePrefix: ns.namePrefix, subjectHead: ns.subjectHead, kept: o.nats.keep === true, deleted: [] };
    } else {
      nats = await NatsServerProcess.start({ storeDir: join(tmp, 'nats') });
      bus = await connectBus({ url: nats.url, name: 'kokex-backtest' });
    }
    await bus.provision();
    await applyPlan(bus, backtestPlan(plan, csv, seed), basename(o.planFile));
    const simPort = await freePort();
    const config: Record<string, Record<string, unknown>> = {
      ...o.actorConfig,
      'okx-sim': { ...o.actorConfig?.['okx-sim'], port: simPort, lockstep: { startAt: from } },
    };
    const series = { venue: plan.spec.venue.name, inst, tf };
    probe = new PipelineProbe(bus, series);
    probe.start();
    const t0 = performance.now();
    const phase = (what: string) => probe?.trace?.(`${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (process.env.KOKEX_BACKTEST_TRACE) probe.trace = (line) => process.stderr.write(`settle ${line}\n`);
    const settleMs = o.settleTimeoutMs ?? 120_000;
    // The data side first: the plan's history window lands in MD_CANDLES before anything trades.
    hosts.push(await startHost(bus, o.log, o.pluginDirs, DATA_KINDS, config, simPort));
    phase('data side started');
    const lastHistoryBar = from - barMs;
    if (slice.some((b) => b.ts <= lastHistoryBar)) await probe.settle(lastHistoryBar, settleMs, o.signal);
    await probe.settle(undefined, settleMs, o.signal);
    phase('history loaded');
    const trading = TRADE_KINDS.filter((k) => o.forecasting !== false || k !== 'inferencer');
    hosts.push(await startHost(bus, o.log, o.pluginDirs, o.retrain ? [...trading, ...RETRAIN_KINDS] : trading, config, simPort));
    await probe.settle(undefined, settleMs, o.signal);

    phase('trading side started');
    const stepBars = barMs / data.barMs;
    const started = performance.now();
    let replayed = 0;
    let barsBehind = 0;
    const paced = o.releaseEveryMs;
    while (replayed < total && !o.signal?.aborted) {
      if (paced !== undefined) {
        // Live pacing: wait for the bar's wall-clock slot, never for the pipeline.
        const wait = started + replayed * paced - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (replayed > 0 && (await probe.consumers()).length > 0) barsBehind++;
      }
      const state = await probe.sim(SimControlEndpoints.step, { bars: stepBars });
      const ts = from + replayed * barMs;
      if (state.stepped === 0 && state.ended && !probe.barSeen(ts)) break;
      if (paced === undefined) await probe.settle(ts, settleMs, o.signal);
      if (o.signal?.aborted) break;
      replayed++;
      const elapsed = (performance.now() - started) / 1000;
      const rate = elapsed > 0 ? replayed / elapsed : 0;
      o.progress?.({ done: replayed, total, ts, barsPerSec: rate, etaMs: rate > 0 ? ((total - replayed) / rate) * 1000 : 0 });
    }
    const wallSeconds = (performance.now() - started) / 1000;
    // What the last bar caused (a fill at the next step never comes: the replay ends there).
    if (!o.signal?.aborted) await probe.settle(replayed > 0 ? from + (replayed - 1) * barMs : undefined, settleMs);
    const collected = await collectRun(bus, { plan: plan.metadata.name, series, from, to: from + replayed * barMs });
    // PnL needs the contract value: asked of the venue (the simulator) as the live summary asks it.
    const venue = await adapterFor<MarketDataAdapter>(
      (hosts[0] as ActorHost).adapters,
      AdapterPort.exchange,
      { name: 'okx', mode: 'sim' },
      adapterSettings(simPort),
    );
    const contractValue = (await venue.instrument(inst)).contractValue ?? 1;
    return {
      plan,
      planFile: basename(o.planFile),
      planSha256: createHash('sha256').update(planText).digest('hex'),
      data,
      from,
      to: replayEnd,
      total,
      replayed,
      partial: replayed < total,
      seed,
      retrain: o.retrain === true,
      codeVersion: o.codeVersion,
      historyMs: windowMs,
      contractValue,
      collected,
      wallSeconds,
      ...(paced !== undefined ? { barsBehind } : {}),
      ...(given ? { given } : {}),
    };
  } finally {
    probe?.stop();
    for (const h of hosts.reverse()) await h.stop().catch((err: unknown) => o.log.warn({ err }, 'backtest host stop failed'));
    await bus?.close().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    if (admin && relay && given && !given.kept) {
      // The run's streams, KV buckets and object stores go; nothing else on the server is touched.
      given.deleted = await deleteRunStreams(admin, relay.ns).catch((err: unknown) => {
        o.log.warn({ err, run: relay?.ns.run }, `backtest streams ${relay?.ns.namePrefix}* not deleted`);
        return [];
      });
    }
    await admin?.close().catch(() => undefined);
    await nats?.stop().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
