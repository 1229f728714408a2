import type { Bus } from '../bus/bus.js';
import type { HealthServerOptions } from '../host/health.js';
import { ActorHost } from '../host/host.js';
import type { Logger } from '../log/logger.js';
import { loadPlanFile } from '../plan/load.js';
import { loadPlugin } from '../plugin/loader.js';
import { readPluginPackage } from '../plugin/manifest.js';
import { applyPlan } from '../plan/store.js';
import { embeddedRuntime, findPlugins } from './runtime.js';
import { LiveSummary } from './summary.js';
import { connectBus } from '../bus/bus.js';
import { startTracing } from '../telemetry/tracing.js';
import { AdapterPort } from '../di/tokens.js';
import type { MarketDataAdapter } from '../ports/exchange.js';
import { adapterFor } from '../ports/registry.js';
import { freePort, isPortFree } from '../bus/nats-server.js';
import { ErrorCode, KokexError } from '../errors.js';
import type { Plan } from '../plan/schema.js';

export interface UpOptions {
  plans: string[];
  /** Serve only these kinds (`kokex host --actors`). Default: all. */
  kinds?: string[];
  /** Start an embedded server when NATS_URL is unset (`up`) or require one (`host`). */
  embedded: boolean;
  /** Print the live summary (verdicts, fills, a status line) and a closing report. */
  watch: boolean;
  /** Default: 5000 ms. */
  summaryEveryMs?: number;
  log: Logger;
  print: (line: string) => void;
  /** Resolves when the process should drain and stop (Ctrl-C). */
  until: Promise<unknown>;
  /** Serve `/metrics`, `/healthz`, `/readyz` (`--metrics-port`, `KOKEX_METRICS_PORT`). Default: none. */
  health?: HealthServerOptions;
  /** The OKX simulator's port (`--sim-port`, `KOKEX_SIM_PORT`; 0: a free one). Default: the plans' `venue.sim.port`, else 18080. */
  simPort?: number;
}

/** Where the OKX simulator listens unless a plan or `--sim-port` says otherwise (the okx adapter's default `simPort`). */
export const SIM_DEFAULT_PORT = 18080;

/**
 * The port of the OKX simulator this `kokex up` starts, claimed before anything starts: a port
 * another process holds is refused with the fix (`kokex up` never silently trades against a
 * simulator it did not start, whose accounts and tape are someone else's), and 0 becomes a free
 * port, handed to the simulator and to every okx adapter of the host alike.
 */
export async function claimSimPort(plans: readonly Plan[], requested: number | undefined): Promise<number> {
  const asked = [
    ...new Set(
      plans.flatMap((p) =>
        p.spec.venue.name === 'okx' && p.spec.venue.mode === 'sim' && p.spec.venue.sim.port !== undefined ? [p.spec.venue.sim.port] : [],
      ),
    ),
  ];
  if (requested === undefined && asked.length > 1)
    throw new KokexError(
      ErrorCode.SimPort,
      `the plans ask for different simulator ports (${asked.join(', ')}): give them one venue.sim.port, or pass --sim-port N`,
      {
        data: { ports: asked },
      },
    );
  const port = requested ?? asked[0] ?? SIM_DEFAULT_PORT;
  if (port === 0) return freePort();
  if (!(await isPortFree(port)))
    throw new KokexError(
      ErrorCode.SimPort,
      `the OKX simulator's port ${port} is in use (another kokex up or npx kokex sim?); kokex up does not join a simulator it did not start: stop that process, or pass --sim-port N (0 picks a free port)`,
      { data: { port } },
    );
  return port;
}

/** Whether this host starts the OKX simulator for these plans (`kokex up` with a sim plan, or asked for a port). */
function startsSimulator(o: UpOptions, plans: readonly Plan[]): boolean {
  if (!o.embedded || (o.kinds && !o.kinds.includes('okx-sim'))) return false;
  return o.simPort !== undefined || plans.some((p) => p.spec.venue.name === 'okx' && p.spec.venue.mode === 'sim');
}

/** `kokex up` and `kokex host`: run a host until told to stop, then drain it cleanly. */
export async function runHost(o: UpOptions): Promise<void> {
  // Traces only when the standard OTEL_* variables ask for them (off by default).
  const tracing = startTracing({ serviceName: 'kokex-host', attributes: { 'kokex.mode': o.embedded ? 'up' : 'host' } });
  const plans = await Promise.all(o.plans.map((file) => loadPlanFile(file)));
  // Claimed before a server starts: a port in use fails here with one line and the fix.
  const simPort = startsSimulator(o, plans) ? await claimSimPort(plans, o.simPort) : o.simPort;
  const runtime = o.embedded
    ? await embeddedRuntime(o.log)
    : await connectBus({ name: 'kokex-host' }).then((bus: Bus) => ({ bus, embedded: undefined, close: () => bus.close() }));
  const { bus } = runtime;
  let host: ActorHost | undefined;
  try {
    if (runtime.embedded) o.print(`nats-server (embedded) ${runtime.embedded.url}, store ${runtime.embedded.storeDir}`);
    else o.print(`nats ${bus.url}`);
    try {
      const provisioned = await bus.provision();
      const changed = provisioned.filter((p) => p.action !== 'unchanged');
      o.print(`bus provisioned: ${provisioned.length} streams/buckets (${changed.length} created or updated)`);
    } catch (err) {
      // A `host` running as a restricted actor user may not create streams; an admin provisions.
      if (o.embedded) throw err;
      o.print(`not provisioning the bus (${(err as Error).message}); an admin's \`kokex up\` provisions it`);
    }
    for (const [i, file] of o.plans.entries()) {
      const r = await applyPlan(bus, plans[i] as Plan, file);
      o.print(`plan ${r.name} from ${file}: ${r.action}`);
    }
    host = new ActorHost({
      bus,
      log: o.log,
      ...(o.kinds ? { kinds: o.kinds } : {}),
      ...(o.health ? { health: o.health } : {}),
      ...(simPort !== undefined ? { config: { 'okx-sim': { port: simPort } } } : {}),
    });
    if (simPort !== undefined) {
      // The simulator and every okx adapter of this host meet on the same port.
      host.adapters.setDefaults('okx', { simPort });
      o.print(`okx simulator port ${simPort}`);
    }
    // A host serving some kinds loads only the plugins offering them, plus adapter plugins they may
    // resolve; a broken plugin it does not need cannot stop it.
    const dirs = [];
    for (const dir of await findPlugins()) {
      const manifest = (await readPluginPackage(dir)).manifest;
      if (!o.kinds || manifest.actors.some((k) => o.kinds?.includes(k))) {
        dirs.push(dir);
        continue;
      }
      // Adapters of plugins this host does not run actors from are imported only when resolved.
      for (const a of manifest.adapters) {
        host.adapters.registerLazy(a.port, a.name, async () =>
          (await loadPlugin(dir)).definition.adapters?.find((d) => d.port === a.port && d.name === a.name),
        );
      }
    }
    for (const dir of dirs) {
      const p = await host.loadPlugin(dir);
      o.print(`plugin ${p.pkg.name}@${p.pkg.version}: ${p.pkg.manifest.actors.join(', ') || 'adapters'}`);
    }
    await host.start();
    o.print(`host ${host.hostId} running ${host.instances().length} actor(s); Ctrl-C drains and stops`);
    if (host.healthUrl) o.print(`metrics ${host.healthUrl}/metrics, health ${host.healthUrl}/healthz, ready ${host.healthUrl}/readyz`);
    // The dashboard actor reports its URL in its status, and where its control token comes from.
    for (const s of host.statuses()) {
      if (s.kind !== 'dashboard' || typeof s.detail.url !== 'string') continue;
      const token =
        s.detail.tokenSource === 'env'
          ? 'control token from KOKEX_DASHBOARD_TOKEN'
          : s.detail.tokenFile
            ? `control token in ${s.detail.tokenFile}`
            : 'control token from the host config';
      o.print(`dashboard ${s.detail.url} (${token})`);
    }
    o.print(`in another terminal: npx kokex actors | npx kokex streams | npx kokex tail "kokex.>"`);
    let ticker: NodeJS.Timeout | undefined;
    const liveHost = host;
    const summary = new LiveSummary(bus, o.print, {
      // Figures are measured on each plan's stated starting balance, the same capital a backtest uses.
      series: () => liveHost.plans().map((p) => ({ inst: p.spec.instrument, tf: p.spec.timeframe, capital: p.spec.venue.paper.balance })),
      // PnL needs the contract value (OKX ctVal): asked of the plan's exchange adapter once per instrument.
      contractValue: async (inst) => {
        const plan = liveHost.plans().find((p) => p.spec.instrument === inst || p.spec.risk.allowInstruments?.includes(inst));
        if (!plan) return undefined;
        const adapter = await adapterFor<MarketDataAdapter>(liveHost.adapters, AdapterPort.exchange, {
          name: plan.spec.venue.name,
          mode: plan.spec.venue.mode,
        });
        return (await adapter.instrument(inst)).contractValue;
      },
    });
    if (o.watch) {
      summary.start();
      ticker = setInterval(() => o.print(summary.statusLine()), o.summaryEveryMs ?? 5000);
      ticker.unref();
    }
    await o.until;
    if (ticker) clearInterval(ticker);
    o.print('draining…');
    if (o.watch) {
      summary.stop();
      o.print(summary.closingReport());
    }
  } finally {
    await host?.stop().catch((err) => o.log.error({ err }, 'host stop failed'));
    await runtime.close().catch(() => undefined);
    await tracing?.shutdown();
  }
  o.print('stopped cleanly');
}
