import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DashboardWebMissingError } from './errors.js';

/** The front end's sources and where Vite builds them (`dist-web`, not committed). */
export const WEB_SOURCE_DIR = resolve(import.meta.dirname, '../web');
export const WEB_DIST_DIR = resolve(import.meta.dirname, '../dist-web');

let building: Promise<void> | undefined;

/** The newest modification time of the page's sources (web/ and the model it shares), 0 when they are not shipped. */
async function newestSource(): Promise<number> {
  let newest = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else newest = Math.max(newest, (await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
    }
  };
  await walk(WEB_SOURCE_DIR);
  newest = Math.max(newest, (await stat(resolve(import.meta.dirname, 'model.ts')).catch(() => undefined))?.mtimeMs ?? 0);
  return newest;
}

/** A build older than the sources beside it (a checkout that moved on) is built again when Vite is there. */
async function stale(dir: string): Promise<boolean> {
  const built = (await stat(join(dir, 'index.html')).catch(() => undefined))?.mtimeMs ?? 0;
  if (built === 0 || built >= (await newestSource())) return false;
  return import('vite').then(
    () => true,
    () => false,
  );
}

/**
 * Builds the web app with Vite when `dir` holds no `index.html` (a fresh checkout, a first start),
 * or an older one than the sources beside it (a checkout that moved on). Vite is a dev
 * dependency: an installation without it must ship `dist-web` built (and keeps the one it has).
 */
export async function ensureWebBuilt(dir: string = WEB_DIST_DIR): Promise<{ built: boolean }> {
  if (existsSync(join(dir, 'index.html')) && !(await stale(dir))) return { built: false };
  building ??= (async () => {
    // Built beside it, then swapped in: a page served meanwhile (another process) never sees half a build.
    const next = `${dir}.build-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const vite = await import('vite');
      await vite.build({
        root: WEB_SOURCE_DIR,
        configFile: join(WEB_SOURCE_DIR, 'vite.config.ts'),
        logLevel: 'warn',
        build: { outDir: next, emptyOutDir: true },
      });
      const old = `${next}.old`;
      await rename(dir, old).catch(() => undefined);
      // Another process that swapped its own build in first wins; this one is dropped.
      await rename(next, dir).catch(() => undefined);
      await rm(old, { recursive: true, force: true });
    } catch (err) {
      throw new DashboardWebMissingError(dir, err);
    } finally {
      await rm(next, { recursive: true, force: true }).catch(() => undefined);
      building = undefined;
    }
  })();
  await building;
  return { built: true };
}
