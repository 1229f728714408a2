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
}

/** `kokex up` and `kokex host`: run a host until told to stop, then drain it cleanly. */
export async function runHost(o: UpOptions): Promise<void> {
  // Traces only when the standard OTEL_* variables ask for them (off by default).
  const tracing = startTracing({ serviceName: 'kokex-host', attributes: { 'kokex.mode': o.embedded ? 'up' : 'host' } });
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
    for (const file of o.plans) {
      const r = await applyPlan(bus, await loadPlanFile(file), file);
      o.print(`plan ${r.name} from ${file}: ${r.action}`);
    }
    host = new ActorHost({ bus, log: o.log, ...(o.kinds ? { kinds: o.kinds } : {}), ...(o.health ? { health: o.health } : {}) });
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
        const adapter = await adapterFor<MarketDataAdapter>(liveHost.adapters, AdapterPort.exchange, { name: plan.spec.venue.name, mode: plan.spec.venue.mode });
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
