import { register } from 'node:module';

/**
 * Packages the host lends to every plugin it loads. A plugin declares them as peer dependencies
 * and imports them as usual; the host resolves those imports to its own copy, so a plugin in any
 * folder (or installed from npm into any `node_modules`) runs against the same core, zod and
 * XState as the host: one set of DI tokens, one `instanceof` world, and no symlinks. A plugin's
 * other dependencies still resolve from its own folder.
 */
export const HOST_PROVIDED = ['@kokex/core', '@kokex/core/testing', 'zod', 'xstate'] as const;

/**
 * The export condition that selects a workspace package's TypeScript sources (`src/`); without it
 * a package resolves to its compiled `dist/`, as a published package does.
 */
export const SOURCE_CONDITION = 'kokex-source';

/** True when this host runs from its TypeScript sources (tsx, Vitest), false from the compiled build. */
export const RUNS_FROM_SOURCE = import.meta.url.endsWith('.ts');

let registered: Record<string, string> | undefined;

/** Where the host's own copy of each lent package is: core's own entries, the libraries core itself imports. */
export function hostProvidedUrls(): Record<string, string> {
  const ext = RUNS_FROM_SOURCE ? 'ts' : 'js';
  const out: Record<string, string> = {
    '@kokex/core': new URL(`../index.${ext}`, import.meta.url).href,
    '@kokex/core/testing': new URL(`../testing/index.${ext}`, import.meta.url).href,
  };
  for (const specifier of HOST_PROVIDED) {
    if (out[specifier]) continue;
    try {
      out[specifier] = import.meta.resolve(specifier);
    } catch {
      // Not available to this host: a plugin importing it resolves it itself.
    }
  }
  return out;
}

/**
 * Installs the resolution hooks once per process (idempotent): the lent packages, the source
 * condition when the host runs from source (so a plugin's workspace libraries resolve to their
 * sources too), and the per-load module namespace of the compiled loader.
 */
export function lendHostModules(): Record<string, string> {
  if (registered) return registered;
  registered = hostProvidedUrls();
  register('./host-resolve-hooks.mjs', import.meta.url, {
    data: { provided: registered, conditions: RUNS_FROM_SOURCE ? [SOURCE_CONDITION] : [] },
  });
  return registered;
}
