import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DashboardWebMissingError } from './errors.js';

/** The front end's sources and where Vite builds them (`dist-web`, not committed). */
export const WEB_SOURCE_DIR = resolve(import.meta.dirname, '../web');
export const WEB_DIST_DIR = resolve(import.meta.dirname, '../dist-web');

let building: Promise<void> | undefined;

/**
 * Builds the web app with Vite when `dir` holds no `index.html` (a fresh checkout, a first start).
 * Vite is a dev dependency: an installation without it must ship `dist-web` built.
 */
export async function ensureWebBuilt(dir: string = WEB_DIST_DIR): Promise<{ built: boolean }> {
  if (existsSync(join(dir, 'index.html'))) return { built: false };
  building ??= (async () => {
    try {
      const vite = await import('vite');
      await vite.build({
        root: WEB_SOURCE_DIR,
        configFile: join(WEB_SOURCE_DIR, 'vite.config.ts'),
        logLevel: 'warn',
        build: { outDir: dir, emptyOutDir: true },
      });
    } catch (err) {
      throw new DashboardWebMissingError(dir, err);
    } finally {
      building = undefined;
    }
  })();
  await building;
  return { built: true };
}
