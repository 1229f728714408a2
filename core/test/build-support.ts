import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Test support for the compiled build: one `npm run build` at a time, however many suites ask. */
export const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

/**
 * Runs `tsc -b tsconfig.build.json` (what `npm run build` runs) in the checkout. Suites in other
 * processes may ask at the same moment: a lock directory makes them take turns, and the second one
 * finds the build up to date (tsc -b is incremental).
 */
export async function ensureBuild(): Promise<void> {
  const lock = join(tmpdir(), `kokex-build-${ROOT.replace(/[^A-Za-z0-9]/g, '_')}.lock`);
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after ten minutes.
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 600_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the build lock ${lock} was held for ten minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await run('npx', ['tsc', '-b', 'tsconfig.build.json'], { cwd: ROOT, timeout: 600_000 });
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** The workspace packages with sources (the ones the build compiles), as directories under ROOT. */
export const BUILT_PACKAGES_GLOB = ['core', 'actors/*', 'plugins/*', 'models/*'];
