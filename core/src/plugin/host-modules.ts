import { register } from 'node:module';
import { createRequire } from 'node:module';

/**
 * Packages the host lends to every plugin it loads. A plugin declares them as peer dependencies
 * and imports them as usual; the host resolves those imports to its own copy, so a plugin in any
 * folder (or installed from npm into any `node_modules`) runs against the same core, zod and
 * XState as the host: one set of DI tokens, one `instanceof` world, and no symlinks. A plugin's
 * other dependencies still resolve from its own folder.
 */
export const HOST_PROVIDED = ['@kokex/core', '@kokex/core/testing', 'zod', 'xstate'] as const;

let registered: Record<string, string> | undefined;

/** Where the host's own copy of each lent package is. */
export function hostProvidedUrls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const specifier of HOST_PROVIDED) {
    try {
      out[specifier] = import.meta.resolve(specifier);
    } catch {
      // Resolution from inside core can fail for core itself when it is not installed under its
      // own name (a bare checkout); fall back to require's view of the same package.
      try {
        out[specifier] = `file://${createRequire(import.meta.url).resolve(specifier)}`;
      } catch {
        // Not available to this host: a plugin importing it resolves it itself.
      }
    }
  }
  return out;
}

/** Installs the resolution hooks once per process (idempotent). */
export function lendHostModules(): Record<string, string> {
  if (registered) return registered;
  registered = hostProvidedUrls();
  register('./host-resolve-hooks.mjs', import.meta.url, { data: { provided: registered } });
  return registered;
}
