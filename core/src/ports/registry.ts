import { ErrorCode, KokexError } from '../errors.js';
import type { AdapterContext, AdapterDefinition } from '../plugin/manifest.js';
import type { ExecutionAdapter, MarketDataAdapter } from './exchange.js';
import type { ChatModel } from './llm.js';
import type { HistoryStore } from './store.js';

/**
 * What an adapter on each port is: `adapterFor(registry, AdapterPort.store, …)` is a
 * `Promise<HistoryStore>` without a type argument. Its keys are the `AdapterPort` names (checked
 * where `AdapterPort` is declared, in di/tokens.ts: a port without its interface fails to compile).
 */
export interface AdapterPorts {
  exchange: MarketDataAdapter;
  execution: ExecutionAdapter;
  llm: ChatModel;
  store: HistoryStore;
}

/**
 * Adapters by port and name (`exchange:okx`, `llm:openai`), filled by the host as plugins load,
 * as Moleculer resolves transporters by name: a third party adds an adapter with a package, not a
 * fork. Instances are created per configuration and cached, so two actors on one venue share a
 * client (and its rate limiter).
 */
export class AdapterRegistry {
  #defs = new Map<string, AdapterDefinition>();
  /** Adapters known from a manifest but not imported yet: loaded on first resolve. */
  #lazy = new Map<string, () => Promise<AdapterDefinition | undefined>>();
  #instances = new Map<string, Promise<unknown>>();
  /** Host-wide settings per adapter name, under everything an actor or a plan sets. */
  #defaults = new Map<string, Record<string, unknown>>();

  register(def: AdapterDefinition): void {
    this.#defs.set(`${def.port}:${def.name}`, def);
  }

  /**
   * Announces an adapter from its plugin's manifest without importing the plugin: a host serving a
   * few actor kinds should not carry every provider SDK in memory for adapters it never uses.
   */
  registerLazy(port: string, name: string, load: () => Promise<AdapterDefinition | undefined>): void {
    if (!this.#defs.has(`${port}:${name}`)) this.#lazy.set(`${port}:${name}`, load);
  }

  /**
   * Host-wide settings for an adapter name on every port: what a host's operator decides for all
   * its actors at once (`kokex up --sim-port 18090` gives `okx` its `simPort`). They sit under the
   * actor's settings and the plan's, which still win.
   */
  setDefaults(name: string, settings: Record<string, unknown>): void {
    this.#defaults.set(name, { ...(this.#defaults.get(name) ?? {}), ...settings });
  }

  unregister(port: string, name: string): void {
    this.#defs.delete(`${port}:${name}`);
  }

  has(port: string, name: string): boolean {
    return this.#defs.has(`${port}:${name}`) || this.#lazy.has(`${port}:${name}`);
  }

  list(port?: string): Array<{ port: string; name: string; description?: string }> {
    return [...this.#defs.values()]
      .filter((d) => !port || d.port === port)
      .map((d) => ({ port: d.port, name: d.name, description: d.description }));
  }

  /**
   * Creates (or returns the cached) adapter for this configuration. `context` is what the host
   * lends the adapter (its bus); an instance keeps the context of the resolve that created it.
   */
  async resolve<T>(port: string, name: string, config: unknown = {}, context: AdapterContext = {}): Promise<T> {
    const lazy = this.#lazy.get(`${port}:${name}`);
    if (lazy && !this.#defs.has(`${port}:${name}`)) {
      this.#lazy.delete(`${port}:${name}`);
      const loaded = await lazy();
      if (loaded) this.register(loaded);
    }
    const def = this.#defs.get(`${port}:${name}`);
    if (!def) {
      const known = this.list(port).map((d) => d.name);
      throw new KokexError(
        ErrorCode.AdapterUnknown,
        `no ${port} adapter named "${name}" is loaded (loaded: ${known.join(', ') || 'none'}); add its plugin package under plugins/`,
        {
          data: { port, name },
        },
      );
    }
    const defaults = this.#defaults.get(name);
    let parsed = defaults && typeof config === 'object' && config !== null ? { ...defaults, ...config } : config;
    if (def.configSchema) {
      const r = def.configSchema.safeParse(parsed);
      if (!r.success) {
        const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        throw new KokexError(ErrorCode.AdapterConfig, `invalid config for ${port} adapter ${name}: ${detail}`, { data: { port, name } });
      }
      parsed = r.data;
    }
    const key = `${port}:${name}:${JSON.stringify(parsed)}`;
    let instance = this.#instances.get(key);
    if (!instance) {
      instance = Promise.resolve(def.create(parsed, context));
      this.#instances.set(key, instance);
      instance.catch(() => this.#instances.delete(key));
    }
    return instance as Promise<T>;
  }

  /** Closes every created adapter that has a `close()`. */
  async closeAll(): Promise<void> {
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map(async (p) => await p.then((a) => (a as { close?: () => Promise<void> })?.close?.()).catch(() => undefined)));
  }
}

/** Which adapter a plan (or a route) wants on a port: its name, the plan's mode, and what the plan fixes. */
export interface AdapterTarget {
  /** The adapter's name (`okx`, `paper`, `openai`). */
  name: string;
  /** The plan's venue mode (`live`, `demo`, `sim`, `paper`), passed to the adapter as `mode`. */
  mode?: string;
  /** Settings the plan itself derives; they win over the actor's per-adapter settings. */
  config?: Record<string, unknown>;
  /** What the host lends the adapter at creation (the actor's bus); not part of its configuration. */
  context?: AdapterContext;
}

/**
 * The one way an actor gets an adapter for a plan. The actor's own settings for the adapter name
 * (`adapters: {okx: {simPort: 18080}}` in its host config) come first, what the plan derives goes
 * over them, and the plan's mode last, so a host setting can never move a plan to another mode.
 */
export function adapterFor<P extends keyof AdapterPorts>(
  registry: AdapterRegistry,
  port: P,
  target: AdapterTarget,
  settings?: Record<string, Record<string, unknown> | undefined>,
): Promise<AdapterPorts[P]>;
/** The generic form, for a port (or a type) the map does not name: the caller says what it gets. */
export function adapterFor<T>(
  registry: AdapterRegistry,
  port: string,
  target: AdapterTarget,
  settings?: Record<string, Record<string, unknown> | undefined>,
): Promise<T>;
export function adapterFor(
  registry: AdapterRegistry,
  port: string,
  target: AdapterTarget,
  settings: Record<string, Record<string, unknown> | undefined> = {},
): Promise<unknown> {
  const config = {
    ...(settings[target.name] ?? {}),
    ...(target.config ?? {}),
    ...(target.mode === undefined ? {} : { mode: target.mode }),
  };
  return registry.resolve<unknown>(port, target.name, config, target.context);
}
