import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KvWatchInclude } from '@nats-io/kv';
import { type Service, Svcm } from '@nats-io/services';
import type { DependencyContainer } from 'tsyringe';
import type { Bus } from '../bus/bus.js';
import { Buckets } from '../bus/topology.js';
import { createHostContainer } from '../di/container.js';
import { ErrorCode, KokexError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Plan } from '../plan/schema.js';
import type { StoredPlan } from '../plan/store.js';
import { type LoadedPlugin, loadPlugin, PluginRegistry } from '../plugin/loader.js';
import { HOST_VERSION } from '../plugin/manifest.js';
import { AdapterRegistry } from '../ports/registry.js';
import { type Clock, systemClock } from '../time/clock.js';
import type { ActorKind } from './actor.js';
import { addControlEndpoint, instanceControlGroup } from './control.js';
import { HealthServer, type HealthServerOptions } from './health.js';
import { ActorInstance, type ActorStatus } from './instance.js';
import type { LifecycleOptions } from './lifecycle.js';
import { type ConsumerLag, HostMetrics } from './metrics.js';

/**
 * Runs actor instances for the kinds it serves: one process of `kokex up` (all kinds) or
 * `kokex host --actors a,b` (some kinds, the unit of horizontal scaling). It loads plugins,
 * supervises lifecycles, publishes status and heartbeats to KV, registers every instance as a NATS
 * micro service, watches plans, and swaps plugin versions without losing or repeating work.
 */
export interface ActorHostOptions {
  bus: Bus;
  log: Logger;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: `{hostname}-{random}`. */
  hostId?: string;
  /** Kinds this host serves. Default: every kind its plugins offer. */
  kinds?: string[];
  /** Base configuration per kind (validated by the kind's schema). */
  config?: Record<string, unknown>;
  lifecycle?: LifecycleOptions;
  /** Default: 5000 ms. */
  heartbeatMs?: number;
  /**
   * Serve `/metrics`, `/healthz` and `/readyz` over HTTP (`kokex host --metrics-port`,
   * `KOKEX_METRICS_PORT`). Default: no server (metrics are still kept in `host.metrics`).
   */
  health?: HealthServerOptions;
}

export interface ReloadResult {
  plugin: string;
  from: string;
  to: string;
  replaced: number;
  /** Longest time any replaced instance's kind had no running instance (ms); 0 when the swap overlapped. */
  gapMs: number;
}

const encoder = new TextEncoder();

function sanitizeHost(h: string): string {
  return h.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'host';
}

export class ActorHost {
  readonly hostId: string;
  readonly registry = new PluginRegistry();
  readonly adapters = new AdapterRegistry();
  readonly container: DependencyContainer;
  /** This host's Prometheus registry (served on `/metrics` when `health` is set). */
  readonly metrics: HostMetrics;
  readonly #o: ActorHostOptions;
  #health: HealthServer | undefined;
  #ready = false;
  readonly #clock: Clock;
  readonly #log: Logger;
  #instances = new Map<string, ActorInstance<unknown>>();
  #services = new Map<string, Service>();
  #hostService: Service | undefined;
  #plans = new Map<string, Plan>();
  #heartbeat: unknown;
  #watchStop: (() => void) | undefined;
  #started = false;
  #stopping = false;
  /** Reconfigurations applied per instance, for status and tests. */
  readonly reconfigurations = new Map<string, number>();

  constructor(options: ActorHostOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    // Process metrics (memory, event loop, GC) only where they are served: tests run many hosts.
    this.metrics = new HostMetrics({ processMetrics: options.health !== undefined });
    this.hostId = options.hostId ?? `${sanitizeHost(hostname())}-${randomBytes(3).toString('hex')}`;
    this.#log = options.log.child({ host: this.hostId });
    this.container = createHostContainer({
      bus: options.bus,
      log: this.#log,
      clock: this.#clock,
      hostId: this.hostId,
      adapters: this.adapters,
    });
    this.metrics.bind({
      states: () => this.instances().map((i) => ({ kind: i.kind, state: i.state })),
      lag: async () => {
        // Replicas of one kind on this host share their durables: report each durable once.
        const seen = new Map<string, ConsumerLag>();
        for (const inst of this.instances()) for (const l of await inst.consumerLag()) seen.set(`${l.stream}/${l.consumer}`, l);
        return [...seen.values()];
      },
    });
  }

  /** `http://bind:port` of the health and metrics server once started; undefined without one. */
  get healthUrl(): string | undefined {
    return this.#health?.url;
  }

  get bus(): Bus {
    return this.#o.bus;
  }

  instances(): ActorInstance<unknown>[] {
    return [...this.#instances.values()];
  }

  plans(): Plan[] {
    return [...this.#plans.values()];
  }

  serves(kind: string): boolean {
    return !this.#o.kinds || this.#o.kinds.includes(kind);
  }

  async loadPlugin(dir: string): Promise<LoadedPlugin> {
    const plugin = await loadPlugin(dir);
    this.registry.add(plugin);
    for (const adapter of plugin.definition.adapters ?? []) this.adapters.register(adapter);
    this.#log.info({ plugin: plugin.pkg.name, version: plugin.pkg.version, actors: plugin.pkg.manifest.actors }, 'plugin loaded');
    if (this.#started) {
      for (const kind of plugin.definition.actors ?? []) {
        if (this.serves(kind.kind) && !this.instances().some((i) => i.kind === kind.kind)) await this.spawn(kind.kind);
      }
    }
    return plugin;
  }

  async start(): Promise<void> {
    if (this.#o.kinds) {
      for (const k of this.#o.kinds) this.registry.resolveKind(k);
    }
    // Up before the actors: liveness answers while a slow kind (model loading) is still starting.
    if (this.#o.health) {
      this.#health = new HealthServer(
        this.#o.health,
        {
          hostId: this.hostId,
          started: () => this.#ready && !this.#stopping,
          connected: () => !this.#o.bus.nc.isClosed(),
          actors: () => this.instances().map((i) => ({ kind: i.kind, instance: i.instanceId, state: i.state })),
        },
        this.metrics,
      );
      await this.#health.start();
    }
    await this.#loadPlans();
    await this.#startHostService();
    this.#started = true;
    const kinds = this.registry.list().flatMap((plugin) => (plugin.definition.actors ?? []).filter((kind) => this.serves(kind.kind)));
    // Local venues first: what connects to them finds them listening.
    for (const kind of kinds.filter((k) => k.startsFirst)) await this.spawn(kind.kind);
    // The rest together: actors meet only over the bus (durable consumers hold what arrives before a
    // reader is up), so none waits for another, and a slow start (the inferencer loading its
    // models, the guard rebuilding its books) no longer delays the others. Instances are registered
    // in the registry's order before the first of them awaits anything.
    await Promise.all(kinds.filter((k) => !k.startsFirst).map((kind) => this.spawn(kind.kind)));
    this.#ready = true;
    const every = this.#o.heartbeatMs ?? 5000;
    const beat = () => {
      void this.#writeAllStatus().finally(() => {
        if (!this.#stopping) this.#heartbeat = this.#clock.setTimeout(beat, every);
      });
    };
    this.#heartbeat = this.#clock.setTimeout(beat, every);
  }

  /** Starts one more instance of a kind (a replica, or a replacement during reload). */
  async spawn(kindName: string, plugin?: LoadedPlugin): Promise<ActorInstance<unknown>> {
    const resolved = plugin
      ? { plugin, actor: plugin.definition.actors?.find((a) => a.kind === kindName) }
      : this.registry.resolveKind(kindName);
    const actor = resolved.actor as ActorKind<unknown> | undefined;
    if (!actor) throw new KokexError(ErrorCode.ActorKindUnknown, `plugin ${resolved.plugin.pkg.name} has no actor kind ${kindName}`);
    const config = this.#deriveConfig(actor);
    const instance = new ActorInstance<unknown>({
      kind: actor,
      plugin: { name: resolved.plugin.pkg.name, version: resolved.plugin.pkg.version },
      config,
      bus: this.#o.bus,
      hostId: this.hostId,
      log: this.#log,
      clock: this.#clock,
      container: this.container,
      plans: () => this.plans(),
      lifecycle: this.#o.lifecycle,
      metrics: this.metrics,
      onState: (i) => void this.#onState(i),
    });
    this.#instances.set(instance.instanceId, instance);
    await this.#registerService(instance);
    instance.start();
    await instance.waitFor(['running', 'failed', 'gaveUp', 'stopped']);
    return instance;
  }

  /** Loads a new version of a plugin beside the old, starts its instances, then drains the old ones. */
  async reloadPlugin(name: string, dir?: string): Promise<ReloadResult> {
    const old = this.registry.get(name);
    if (!old) throw new KokexError(ErrorCode.PluginNotLoaded, `plugin ${name} is not loaded on ${this.hostId}`, { data: { plugin: name } });
    const next = await loadPlugin(dir ?? old.pkg.dir);
    if (next.pkg.name !== name) throw new KokexError(ErrorCode.PluginConflict, `${dir} holds ${next.pkg.name}, not ${name}`);
    const oldInstances = this.instances().filter((i) => i.plugin.name === name && i.state !== 'stopped');
    this.registry.remove(name);
    this.registry.add(next);
    for (const adapter of next.definition.adapters ?? []) this.adapters.register(adapter);
    // Make before break: the new instance pulls from the same durable consumer before the old stops.
    for (const inst of oldInstances) {
      const replacement = await this.spawn(inst.kind, next);
      this.#log.info(
        { old: inst.instanceId, new: replacement.instanceId, to: next.pkg.version },
        'reload: new instance running, draining old',
      );
      await this.#retire(inst);
    }
    return { plugin: name, from: old.pkg.version, to: next.pkg.version, replaced: oldInstances.length, gapMs: 0 };
  }

  async unloadPlugin(name: string): Promise<number> {
    const plugin = this.registry.get(name);
    if (!plugin)
      throw new KokexError(ErrorCode.PluginNotLoaded, `plugin ${name} is not loaded on ${this.hostId}`, { data: { plugin: name } });
    const victims = this.instances().filter((i) => i.plugin.name === name);
    for (const inst of victims.reverse()) await this.#retire(inst);
    for (const adapter of plugin.definition.adapters ?? []) this.adapters.unregister(adapter.port, adapter.name);
    this.registry.remove(name);
    return victims.length;
  }

  /** Drains every instance (newest first), then stops the services and the heartbeat. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#clock.clearTimeout(this.#heartbeat);
    this.#watchStop?.();
    const all = this.instances().reverse();
    await Promise.all(all.map((i) => this.#retire(i)));
    await this.#hostService?.stop().catch(() => undefined);
    this.#hostService = undefined;
    await this.adapters.closeAll();
    await this.#health?.stop();
  }

  statuses(): ActorStatus[] {
    return this.instances().map((i) => i.status());
  }

  async #retire(inst: ActorInstance<unknown>): Promise<void> {
    await inst.drain().catch((err) => this.#log.error({ err, instance: inst.instanceId }, 'drain failed'));
    this.#instances.delete(inst.instanceId);
    const svc = this.#services.get(inst.instanceId);
    this.#services.delete(inst.instanceId);
    await svc?.stop().catch(() => undefined);
    const kv = await this.#o.bus.kv(Buckets.actors).catch(() => undefined);
    await kv?.delete(`${inst.kind}.${inst.instanceId}`).catch(() => undefined);
  }

  #deriveConfig(actor: ActorKind<unknown>): unknown {
    const raw = this.#o.config?.[actor.kind] ?? {};
    const parsed = actor.configSchema.safeParse(raw);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new KokexError(ErrorCode.ActorConfig, `invalid config for actor ${actor.kind}: ${detail}`, { data: { kind: actor.kind } });
    }
    return actor.configFromPlans ? actor.configFromPlans(this.plans(), parsed.data) : parsed.data;
  }

  async #onState(inst: ActorInstance<unknown>): Promise<void> {
    if (inst.state === 'stopped') return;
    await this.#writeStatus(inst).catch(() => undefined);
  }

  async #writeStatus(inst: ActorInstance<unknown>): Promise<void> {
    if (this.#o.bus.nc.isClosed()) return;
    const kv = await this.#o.bus.kv(Buckets.actors);
    const status = { ...inst.status(), lag: await inst.lag() };
    await kv.put(`${inst.kind}.${inst.instanceId}`, encoder.encode(JSON.stringify(status)));
  }

  async #writeAllStatus(): Promise<void> {
    await Promise.all(this.instances().map((i) => this.#writeStatus(i).catch(() => undefined)));
  }

  async #registerService(inst: ActorInstance<unknown>): Promise<void> {
    const svc = await new Svcm(this.#o.bus.nc).add({
      name: `kokex-${inst.kind}`,
      version: semverOf(inst.plugin.version),
      description: `KOKEX actor ${inst.kind}`,
      metadata: { host: this.hostId, instance: inst.instanceId, plugin: inst.plugin.name, kind: inst.kind },
      statsHandler: async () => ({ ...inst.status(), lag: await inst.lag() }),
    });
    const group = instanceControlGroup(inst.kind, inst.instanceId);
    addControlEndpoint(svc, group, 'status', async () => ({ status: { ...inst.status(), lag: await inst.lag() } }));
    for (const [name, event] of [
      ['pause', 'PAUSE'],
      ['resume', 'RESUME'],
      ['restart', 'RESTART'],
    ] as const) {
      addControlEndpoint(svc, group, name, () => {
        inst.send(event);
        return { status: inst.status() };
      });
    }
    addControlEndpoint(svc, group, 'drain', async () => {
      if (!inst.can('DRAIN')) inst.send('DRAIN');
      await this.#retire(inst);
      return { status: inst.status() };
    });
    addControlEndpoint(svc, group, 'reload', async (body) => {
      const dir = (body as { path?: string }).path;
      const result = await this.reloadPlugin(inst.plugin.name, dir);
      return { result };
    });
    this.#services.set(inst.instanceId, svc);
  }

  async #startHostService(): Promise<void> {
    const svc = await new Svcm(this.#o.bus.nc).add({
      name: 'kokex-host',
      version: HOST_VERSION,
      description: 'KOKEX actor host',
      metadata: { host: this.hostId, kinds: (this.#o.kinds ?? ['*']).join(',') },
    });
    const group = instanceControlGroup('host', this.hostId);
    addControlEndpoint(svc, group, 'status', () => ({
      host: this.hostId,
      plugins: this.registry
        .list()
        .map((p) => ({ name: p.pkg.name, version: p.pkg.version, dir: p.pkg.dir, actors: p.pkg.manifest.actors })),
      actors: this.statuses(),
    }));
    addControlEndpoint(svc, group, 'load', async (body) => {
      const dir = (body as { path?: string }).path;
      if (!dir) throw new KokexError(ErrorCode.CliUsage, 'load needs {"path": "<plugin package dir>"}');
      const p = await this.loadPlugin(dir);
      return { plugin: p.pkg.name, version: p.pkg.version };
    });
    addControlEndpoint(svc, group, 'unload', async (body) => {
      const name = (body as { name?: string }).name ?? '';
      return { plugin: name, stopped: await this.unloadPlugin(name) };
    });
    addControlEndpoint(svc, group, 'reload', async (body) => {
      const b = body as { name?: string; path?: string };
      return { result: await this.reloadPlugin(b.name ?? '', b.path) };
    });
    this.#hostService = svc;
  }

  async #loadPlans(): Promise<void> {
    const kv = await this.#o.bus.kv(Buckets.plans);
    // Watch before reading, so a plan applied while the bucket is read is not missed (its update
    // waits in the watch and is applied again after the read: the same value, or a later one).
    const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    for (const e of await this.#o.bus.kvEntries(Buckets.plans)) this.#plans.set(e.key, e.json<StoredPlan>().plan);
    this.#watchStop = () => watch.stop();
    void (async () => {
      for await (const e of watch) {
        if (e.operation === 'PUT' && e.length > 0) this.#plans.set(e.key, e.json<StoredPlan>().plan);
        else this.#plans.delete(e.key);
        await this.#onPlansChanged().catch((err) => this.#log.error({ err }, 'reconfiguration failed'));
      }
    })();
  }

  /** Re-derives each instance's config; only instances whose config changed are touched. */
  async #onPlansChanged(): Promise<void> {
    for (const inst of this.instances()) {
      if (inst.state !== 'running' && inst.state !== 'paused') continue;
      const plugin = this.registry.get(inst.plugin.name);
      const actor = plugin?.definition.actors?.find((a) => a.kind === inst.kind) as ActorKind<unknown> | undefined;
      if (!actor?.configFromPlans) continue;
      const next = this.#deriveConfig(actor);
      if (JSON.stringify(next) === JSON.stringify(inst.config)) continue;
      this.reconfigurations.set(inst.instanceId, (this.reconfigurations.get(inst.instanceId) ?? 0) + 1);
      const how = await inst.reconfigure(next);
      this.#log.info({ instance: inst.instanceId, how }, 'plan change reconfigured actor');
      if (how === 'restart' && plugin) {
        await this.spawn(inst.kind, plugin);
        await this.#retire(inst);
      }
    }
  }
}

/** Micro services require semver; plugin versions normally are, but guard against `1.0`. */
function semverOf(v: string): string {
  return /^\d+\.\d+\.\d+/.test(v) ? v : '0.0.0';
}
