import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Bus, connectBus } from '../bus/bus.js';
import { isPortFree, NatsServerProcess } from '../bus/nats-server.js';
import { kokexHome, natsUrlFile, resolveNatsUrl } from '../config.js';
import { ensureEmbeddedAuth } from '../deploy/embedded.js';
import type { Logger } from '../log/logger.js';
import { discoverPlugins } from '../plugin/loader.js';

/**
 * The runtime a command needs: a bus, and for `up` an embedded nats-server when NATS_URL is unset.
 */
export interface Runtime {
  bus: Bus;
  embedded?: NatsServerProcess;
  close(): Promise<void>;
}

/** Starts (or reuses) the embedded server under KOKEX_HOME and connects to it. */
export async function embeddedRuntime(log: Logger): Promise<Runtime> {
  if (process.env.NATS_URL) {
    const bus = await connectBus({ url: process.env.NATS_URL, name: 'kokex-up' });
    return { bus, close: () => bus.close() };
  }
  const home = kokexHome();
  const urlFile = natsUrlFile(home);
  // A second `kokex up` in the same home joins the server the first one started.
  if (existsSync(urlFile)) {
    try {
      const bus = await connectBus({ url: resolveNatsUrl().url, name: 'kokex-up', reconnect: false });
      await bus.close();
      const joined = await connectBus({ url: resolveNatsUrl().url, name: 'kokex-up' });
      log.info({ url: joined.url }, 'joined the embedded nats-server already running');
      return { bus: joined, close: () => joined.close() };
    } catch {
      await rm(urlFile, { force: true });
    }
  }
  await mkdir(home, { recursive: true });
  const port = (await isPortFree(4222)) ? 4222 : undefined;
  // Secure by default: only the generated users get in (deploy/embedded.ts), on 127.0.0.1 only.
  const auth = ensureEmbeddedAuth(home);
  const embedded = await NatsServerProcess.start({
    storeDir: join(home, 'nats'),
    ...(port ? { port } : {}),
    args: ['-c', auth.configFile],
  });
  await writeFile(urlFile, `${embedded.url}\n`);
  const bus = await connectBus({ url: embedded.url, name: 'kokex-up', ...auth.admin });
  return {
    bus,
    embedded,
    async close() {
      await bus.close();
      await embedded.stop();
      await rm(urlFile, { force: true });
    },
  };
}

/** Plugin folders: KOKEX_PLUGIN_PATH (colon-separated) or `actors/` and `plugins/` of this checkout. */
export function pluginRoots(): string[] {
  const fromEnv = process.env.KOKEX_PLUGIN_PATH;
  if (fromEnv)
    return fromEnv
      .split(':')
      .filter(Boolean)
      .map((p) => resolve(p));
  return [resolve('actors'), resolve('plugins')];
}

export async function findPlugins(): Promise<string[]> {
  return discoverPlugins(pluginRoots());
}
