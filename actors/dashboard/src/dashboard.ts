import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type ActorContext,
  type ActorLogic,
  AdapterPort,
  adapterFor,
  Buckets,
  defineActorKind,
  kokexHome,
  type MarketDataAdapter,
  subjectFilter,
  Tokens,
} from '@kokex/core';
import { BacktestsLibrary, backtestsDirOf } from './backtests.js';
import { type DashboardConfig, dashboardConfigSchema, portOf } from './config.js';
import { LIVE_SUBJECTS, READ_STREAMS, startFeeds } from './feeds.js';
import type { DashboardEvent } from './model.js';
import { DashboardServer, newToken } from './server.js';
import { ensureWebBuilt, WEB_DIST_DIR } from './web-build.js';

/**
 * The dashboard: one web page to watch and steer the loop. It reads only from the bus (streams, KV
 * buckets, control endpoints), keeps a bounded model of what it read, serves the web app on
 * 127.0.0.1 and pushes every change to the open pages over a WebSocket. Control actions go through
 * the same bus requests as the CLI and need the token.
 */
export const TOKEN_FILE = 'dashboard.token';

/** The token: configured, else `KOKEX_DASHBOARD_TOKEN`, else saved in KOKEX_HOME, else a new one saved there. */
export async function resolveToken(
  config: DashboardConfig,
  env: NodeJS.ProcessEnv = process.env,
  home = kokexHome(),
): Promise<{ token: string; source: 'config' | 'env' | 'file' | 'generated'; file?: string }> {
  if (config.token) return { token: config.token, source: 'config' };
  if (env.KOKEX_DASHBOARD_TOKEN) return { token: env.KOKEX_DASHBOARD_TOKEN, source: 'env' };
  const file = join(home, TOKEN_FILE);
  if (existsSync(file)) {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved.length >= 12) return { token: saved, source: 'file', file };
  }
  const token = newToken();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600).catch(() => undefined);
  return { token, source: 'generated', file };
}

export function createDashboardLogic(ctx: ActorContext<DashboardConfig>): ActorLogic<DashboardConfig> {
  const config = ctx.config;
  let server: DashboardServer | undefined;
  let stopFeeds: (() => Promise<void>) | undefined;
  let url: string | undefined;
  let tokenSource: string | undefined;
  let tokenFile: string | undefined;
  const asked = new Set<string>();
  // Read only: the reports `kokex backtest` wrote, for the backtests view.
  const backtests = new BacktestsLibrary(backtestsDirOf(config));

  // PnL needs the contract value: asked once per instrument of the plan's exchange adapter (as the live summary does).
  const learnContractValue = (inst: string) => {
    if (asked.has(inst)) return;
    asked.add(inst);
    const plan = ctx.plans().find((p) => p.spec.instrument === inst || p.spec.risk.allowInstruments?.includes(inst));
    if (!plan) return;
    void (async () => {
      const adapters = ctx.container.resolve(Tokens.Adapters);
      const adapter = await adapterFor<MarketDataAdapter>(
        adapters,
        AdapterPort.exchange,
        { name: plan.spec.venue.name, mode: plan.spec.venue.mode },
        config.adapters,
      );
      const value = (await adapter.instrument(inst)).contractValue;
      if (Number.isFinite(value) && value > 0) server?.push({ t: 'contractValue', inst, value });
    })().catch((err) => {
      asked.delete(inst);
      ctx.log.debug({ err, inst }, 'contract value not known yet');
    });
  };

  const onEvent = (e: DashboardEvent) => {
    if (!server) return;
    server.push(e);
    if (e.t === 'bar' || e.t === 'orderEvent') learnContractValue(e.inst);
  };

  const start = async () => {
    const webDir = config.webDir ?? WEB_DIST_DIR;
    const { built } = await ensureWebBuilt(webDir);
    if (built) ctx.log.info({ webDir }, 'dashboard web app built');
    const token = await resolveToken(config);
    tokenSource = token.source;
    tokenFile = token.file;
    if (token.source === 'generated') {
      // A secret never goes into a log (logs are shipped and kept): say where it is, not what it is.
      ctx.log.warn(
        { file: token.file },
        `dashboard control token generated and saved in ${token.file} (mode 0600; read it with: cat ${token.file})`,
      );
    }
    const { port, explicit } = portOf(config);
    const make = (p: number) =>
      new DashboardServer({
        bus: ctx.bus,
        log: ctx.log,
        clock: ctx.clock,
        host: config.host,
        port: p,
        token: token.token,
        webDir,
        limits: config.keep,
        instanceId: ctx.instanceId,
        backtests,
      });
    server = make(port);
    try {
      ({ url } = await server.listen());
    } catch (err) {
      if (explicit || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      ctx.log.warn({ port }, `dashboard: port ${port} in use, taking a free one (set KOKEX_DASHBOARD_PORT to choose)`);
      server = make(0);
      ({ url } = await server.listen());
    }
    stopFeeds = await startFeeds({ bus: ctx.bus, log: ctx.log, sinceMs: ctx.clock.now() - config.historyMs, emit: onEvent });
    ctx.log.info({ url, backtestsDir: backtests.dir }, `dashboard on ${url}`);
  };

  const stop = async () => {
    await stopFeeds?.();
    stopFeeds = undefined;
    await server?.close();
    server = undefined;
  };

  return {
    start,
    // Paused, the page is not served and nothing is read; resume starts both again (same port when fixed).
    pause: stop,
    resume: start,
    stop,
    status: () => ({
      url,
      tokenSource,
      tokenFile,
      backtestsDir: backtests.dir,
      ...(server ? server.stats : { events: 0, actions: 0, clients: 0 }),
      series: server ? Object.keys(server.model.series).length : 0,
      orders: server?.model.orders.length ?? 0,
    }),
  };
}

export const dashboardActor = defineActorKind<DashboardConfig>({
  kind: 'dashboard',
  description: 'a live web page of candles, forecasts, the agent, orders, actors and plans, with controls',
  configSchema: dashboardConfigSchema,
  create: createDashboardLogic,
  access: () => ({
    // Ordered (ephemeral) consumers on the streams it shows; control requests; the risk record it rewrites.
    publish: [
      ...READ_STREAMS.flatMap(({ stream }) => [
        `$JS.API.CONSUMER.CREATE.${stream}.>`,
        `$JS.API.CONSUMER.DELETE.${stream}.>`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
        `$JS.API.CONSUMER.INFO.${stream}.>`,
        `$JS.FC.${stream}.>`,
      ]),
      subjectFilter('planChanged'),
      subjectFilter('agentChat'),
      ...(['pause', 'resume', 'reload'] as const).map((endpoint) => subjectFilter('control', { endpoint })),
    ],
    subscribe: [...LIVE_SUBJECTS],
    consume: [],
    kv: [Buckets.plans, Buckets.actors, Buckets.risk],
  }),
});
