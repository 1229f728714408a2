import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, KokexError } from '../errors.js';
import type { ActorKind } from '../host/actor.js';
import { lendHostModules, RUNS_FROM_SOURCE } from './host-modules.js';
import { checkDefinition, type PluginDefinition, type PluginPackage, readPluginPackage } from './manifest.js';

/**
 * Imports plugin packages. Every load runs in a fresh module namespace, so a reload evaluates the
 * plugin's files again (all of them, not only the entry) while the old version keeps running from
 * its own copy until it has drained. A host running from source imports the manifest's `entry`
 * through a tsx namespace; a compiled host imports the package's compiled entry (its `exports['.']`
 * default target, or a JavaScript `entry`) with a `?kokex-plugin=N` tag that the resolve hooks pass
 * to every file the plugin imports, and falls back to tsx for a plugin that ships TypeScript only.
 */
export interface LoadedPlugin {
  pkg: PluginPackage;
  definition: PluginDefinition;
  /** Increases on every load of the same plugin in this process. */
  generation: number;
  loadedAt: number;
}

export class PluginLoadError extends KokexError {
  constructor(dir: string, cause: unknown) {
    super(ErrorCode.PluginLoad, `cannot load plugin from ${dir}: ${(cause as Error)?.message ?? cause}`, {
      cause,
      data: { dir },
    });
  }
}

let generationCounter = 0;

export async function loadPlugin(dir: string): Promise<LoadedPlugin> {
  const abs = resolve(dir);
  const pkg = await readPluginPackage(abs);
  // Before the first import: a plugin outside this repository finds @kokex/core (and zod, XState)
  // as the host's own copy.
  lendHostModules();
  const generation = ++generationCounter;
  let mod: { default?: unknown };
  try {
    const compiled = RUNS_FROM_SOURCE ? undefined : await compiledEntry(abs, pkg.manifest.entry);
    if (compiled) {
      mod = (await import(`${pathToFileURL(compiled).href}?kokex-plugin=${generation}`)) as { default?: unknown };
    } else {
      // tsx only where TypeScript is loaded: a compiled host never imports it for compiled plugins.
      const { register } = await import('tsx/esm/api');
      const api = register({ namespace: `kokex-plugin-${generation}` });
      mod = (await api.import(pathToFileURL(join(abs, pkg.manifest.entry)).href, import.meta.url)) as { default?: unknown };
    }
  } catch (err) {
    throw new PluginLoadError(abs, err);
  }
  const definition = checkDefinition(pkg, mod.default);
  return { pkg, definition, generation, loadedAt: Date.now() };
}

const TYPESCRIPT = /\.[cm]?tsx?$/;

/**
 * The JavaScript a compiled host runs for a plugin: a JavaScript `entry` as it is, else the default
 * target of the package's `exports['.']` (its build), else undefined (TypeScript only).
 */
async function compiledEntry(dir: string, entry: string): Promise<string | undefined> {
  if (!TYPESCRIPT.test(entry)) return join(dir, entry);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { exports?: unknown };
  const root =
    typeof pkg.exports === 'object' && pkg.exports && '.' in pkg.exports ? (pkg.exports as Record<string, unknown>)['.'] : pkg.exports;
  const target = defaultTarget(root);
  if (target && !TYPESCRIPT.test(target) && existsSync(join(dir, target))) return join(dir, target);
  return undefined;
}

function defaultTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return undefined;
  const conditions = value as Record<string, unknown>;
  return defaultTarget(conditions.import) ?? defaultTarget(conditions.node) ?? defaultTarget(conditions.default);
}

/** Finds plugin packages (package.json with a `kokex` field) one level under each folder. */
export async function discoverPlugins(roots: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const root of roots) {
    let entries: string[];
    try {
      // Symlinked plugin folders count too (a plugin developed elsewhere and linked in).
      entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of entries.sort()) {
      const dir = join(root, name);
      try {
        await readPluginPackage(dir);
        found.push(resolve(dir));
      } catch {
        // Not a plugin package (a library, a simulator without actors): skip it.
      }
    }
  }
  return found;
}

/** Actor kinds by name across the loaded plugins; a kind offered twice is an error. */
export class PluginRegistry {
  #plugins = new Map<string, LoadedPlugin>();

  add(plugin: LoadedPlugin): void {
    for (const kind of plugin.definition.actors ?? []) {
      const owner = this.ownerOf(kind.kind);
      if (owner && owner.pkg.name !== plugin.pkg.name) {
        throw new KokexError(ErrorCode.PluginConflict, `actor kind "${kind.kind}" is offered by ${owner.pkg.name} and ${plugin.pkg.name}`, {
          data: { kind: kind.kind },
        });
      }
    }
    this.#plugins.set(plugin.pkg.name, plugin);
  }

  remove(name: string): LoadedPlugin | undefined {
    const p = this.#plugins.get(name);
    this.#plugins.delete(name);
    return p;
  }

  get(name: string): LoadedPlugin | undefined {
    return this.#plugins.get(name);
  }

  list(): LoadedPlugin[] {
    return [...this.#plugins.values()];
  }

  ownerOf(kind: string): LoadedPlugin | undefined {
    return this.list().find((p) => (p.definition.actors ?? []).some((a) => a.kind === kind));
  }

  resolveKind(kind: string): { plugin: LoadedPlugin; actor: ActorKind<unknown> } {
    const plugin = this.ownerOf(kind);
    const actor = plugin?.definition.actors?.find((a) => a.kind === kind);
    if (!plugin || !actor) {
      const known = this.list().flatMap((p) => (p.definition.actors ?? []).map((a) => a.kind));
      throw new KokexError(
        ErrorCode.ActorKindUnknown,
        `no loaded plugin offers actor kind "${kind}" (loaded kinds: ${known.join(', ') || 'none'})`,
        {
          data: { kind },
        },
      );
    }
    return { plugin, actor };
  }
}
