import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, KokexError } from '../errors.js';
import type { Bus } from '../bus/bus.js';
import type { ActorKind } from '../host/actor.js';
import type { InstrumentInfo } from '../ports/exchange.js';

/**
 * A plugin is an npm package whose package.json has a `kokex` field (the manifest) and whose entry
 * module's default export is a `PluginDefinition`. The manifest lets the host check a plugin before
 * running any of its code, as Fastify checks plugin metadata at registration.
 */
export const HOST_VERSION = '0.1.0';

export const pluginManifestSchema = z
  .object({
    /** Module whose default export is the plugin definition. */
    entry: z.string().min(1),
    /** Actor kinds the plugin contributes. */
    actors: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/)).default([]),
    /** Adapters the plugin contributes, as `{port, name}`. */
    adapters: z.array(z.object({ port: z.string(), name: z.string() }).strict()).default([]),
    /** `kokex` subcommands the plugin contributes (e.g. `sim`, `data`). */
    commands: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default([]),
    /** Host versions the plugin works with: `^x.y.z`, `~x.y.z`, `x.y.z` or `*`. */
    host: z.string().default('*'),
  })
  .strict();
export type PluginManifest = z.infer<typeof pluginManifestSchema>;

/**
 * What the host lends an adapter when it creates one, beside its configuration: the bus of the
 * actor that resolved it. An adapter talks to NATS only through this (the paper venue reads candles
 * and keeps its account with it); it never opens a connection of its own.
 */
export interface AdapterContext {
  bus?: Bus;
  /**
   * The instrument rules (tick, lot, contract value) of the venue the adapter stands in for, as that
   * venue's exchange adapter lists them: lent to the paper venue, which has no instrument list of
   * its own (the executor asks `exchange:{plan venue}` in the plan's mode).
   */
  instrument?: (inst: string) => Promise<InstrumentInfo>;
}

export interface AdapterDefinition<T = unknown> {
  port: string;
  name: string;
  description?: string;
  configSchema?: z.ZodTypeAny;
  create(config: unknown, context: AdapterContext): T | Promise<T>;
}

/** What a plugin command gets: its arguments after the command name, and the terminal. */
export interface CommandIo {
  print(line: string): void;
  /** Progress that overwrites itself on a terminal (a bar), plain lines otherwise. */
  progress(line: string): void;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export interface CommandDefinition {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. Throw a KokexError for a one-line failure. */
  run(args: string[], io: CommandIo): Promise<number>;
}

export interface PluginDefinition {
  name: string;
  version: string;
  actors?: ActorKind<any>[];
  adapters?: AdapterDefinition[];
  commands?: CommandDefinition[];
}

export function definePlugin(def: PluginDefinition): PluginDefinition {
  return def;
}

export class PluginManifestError extends KokexError {
  constructor(where: string, problem: string) {
    super(ErrorCode.PluginManifest, `plugin ${where}: ${problem}`, { data: { plugin: where } });
  }
}

export interface PluginPackage {
  dir: string;
  name: string;
  version: string;
  manifest: PluginManifest;
}

export async function readPluginPackage(dir: string): Promise<PluginPackage> {
  let pkg: { name?: string; version?: string; kokex?: unknown };
  try {
    pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  } catch (err) {
    throw new PluginManifestError(dir, `cannot read package.json (${(err as Error).message})`);
  }
  if (!pkg.name || !pkg.version) throw new PluginManifestError(dir, 'package.json needs a name and a version');
  if (pkg.kokex === undefined) {
    throw new PluginManifestError(
      pkg.name,
      'package.json has no "kokex" manifest field; add {"kokex": {"entry": "./src/index.ts", "actors": [...]}}',
    );
  }
  const parsed = pluginManifestSchema.safeParse(pkg.kokex);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `kokex.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PluginManifestError(pkg.name, `invalid manifest: ${detail}`);
  }
  if (!satisfiesRange(HOST_VERSION, parsed.data.host)) {
    throw new PluginManifestError(pkg.name, `needs host ${parsed.data.host}, this host is ${HOST_VERSION}`);
  }
  return { dir, name: pkg.name, version: pkg.version, manifest: parsed.data };
}

/** Checks what the entry module exported against the manifest. */
export function checkDefinition(pkg: PluginPackage, def: unknown): PluginDefinition {
  if (!def || typeof def !== 'object') {
    throw new PluginManifestError(pkg.name, `entry ${pkg.manifest.entry} has no default export (export default definePlugin({...}))`);
  }
  const d = def as PluginDefinition;
  if (d.name !== pkg.name) throw new PluginManifestError(pkg.name, `entry exports name "${d.name}", package.json says "${pkg.name}"`);
  if (d.version !== pkg.version) {
    throw new PluginManifestError(pkg.name, `entry exports version "${d.version}", package.json says "${pkg.version}"`);
  }
  const exported = (d.actors ?? []).map((a) => a.kind).sort();
  const declared = [...pkg.manifest.actors].sort();
  if (JSON.stringify(exported) !== JSON.stringify(declared)) {
    throw new PluginManifestError(
      pkg.name,
      `manifest declares actors [${declared.join(', ')}] but the entry exports [${exported.join(', ')}]`,
    );
  }
  const adapters = (d.adapters ?? []).map((a) => `${a.port}:${a.name}`).sort();
  const declaredAdapters = pkg.manifest.adapters.map((a) => `${a.port}:${a.name}`).sort();
  if (JSON.stringify(adapters) !== JSON.stringify(declaredAdapters)) {
    throw new PluginManifestError(
      pkg.name,
      `manifest declares adapters [${declaredAdapters.join(', ')}] but the entry exports [${adapters.join(', ')}]`,
    );
  }
  const commands = (d.commands ?? []).map((c) => c.name).sort();
  const declaredCommands = [...pkg.manifest.commands].sort();
  if (JSON.stringify(commands) !== JSON.stringify(declaredCommands)) {
    throw new PluginManifestError(
      pkg.name,
      `manifest declares commands [${declaredCommands.join(', ')}] but the entry exports [${commands.join(', ')}]`,
    );
  }
  return d;
}

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  if (!m) return [Number.NaN, 0, 0];
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The small semver subset manifests use: `*`, `x.y.z`, `^x.y.z`, `~x.y.z`, `>=x.y.z`. */
export function satisfiesRange(version: string, range: string): boolean {
  const r = range.trim();
  if (r === '*' || r === '') return true;
  const [ma, mi, pa] = parseVersion(version);
  const op = /^(\^|~|>=)?/.exec(r)?.[1] ?? '';
  const [ra, ri, rp] = parseVersion(r.slice(op.length));
  const cmp = ma - ra || mi - ri || pa - rp;
  if (op === '>=') return cmp >= 0;
  if (op === '') return cmp === 0;
  if (cmp < 0) return false;
  if (op === '~') return ma === ra && mi === ri;
  // Caret: same major, or for 0.x the same minor.
  return ra === 0 ? ma === 0 && mi === ri : ma === ra;
}
