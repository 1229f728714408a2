import { resolve } from 'node:path';
import { AdapterPort, AdapterRegistry, discoverPlugins, loadPlugin, type MarketDataAdapter, readPluginPackage } from '@kokex/core';

/**
 * Exchange adapters for commands that run outside a host (`kokex data pull`): the same plugin
 * folders the CLI searches, the same registry the host fills, so a command never imports an
 * exchange plugin either.
 */

/** KOKEX_PLUGIN_PATH (colon-separated), else `actors/` and `plugins/` under the working directory: where the CLI looks. */
export function pluginRoots(env: Record<string, string | undefined> = process.env): string[] {
  return (env.KOKEX_PLUGIN_PATH?.split(':').filter(Boolean) ?? ['actors', 'plugins']).map((dir) => resolve(dir));
}

export interface LoadedExchange {
  adapter: MarketDataAdapter;
  /** Closes the adapter (and anything else the registry created). */
  close(): Promise<void>;
}

/** Loads the plugins that declare an `exchange` adapter named `venue` and creates it with `config`. */
export async function loadExchangeAdapter(venue: string, config: unknown, roots: string[] = pluginRoots()): Promise<LoadedExchange> {
  const registry = new AdapterRegistry();
  for (const dir of await discoverPlugins(roots)) {
    const pkg = await readPluginPackage(dir);
    if (!pkg.manifest.adapters.some((a) => a.port === AdapterPort.exchange && a.name === venue)) continue;
    const plugin = await loadPlugin(dir);
    for (const adapter of plugin.definition.adapters ?? []) registry.register(adapter);
  }
  // Throws KOKEX_ADAPTER_UNKNOWN naming what is loaded when no plugin offers the venue.
  const adapter = await registry.resolve<MarketDataAdapter>(AdapterPort.exchange, venue, config);
  return { adapter, close: () => registry.closeAll() };
}
