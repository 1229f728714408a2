import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where KOKEX keeps local state when it runs the embedded defaults: the embedded nats-server's
 * store, its URL file (so a second terminal finds it), and downloaded data.
 * Default: `.kokex/` under the current directory; override with KOKEX_HOME.
 */
export function kokexHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KOKEX_HOME ?? '.kokex');
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The file where a running embedded server leaves its URL. */
export function natsUrlFile(home = kokexHome()): string {
  return join(home, 'nats.url');
}

export interface ResolvedNatsUrl {
  url: string;
  source: 'NATS_URL' | 'embedded' | 'default';
}

/** NATS_URL if set, else the URL a running `kokex up` wrote, else the conventional local port. */
export function resolveNatsUrl(env: NodeJS.ProcessEnv = process.env): ResolvedNatsUrl {
  if (env.NATS_URL) return { url: env.NATS_URL, source: 'NATS_URL' };
  const file = natsUrlFile(kokexHome(env));
  if (existsSync(file)) {
    const url = readFileSync(file, 'utf8').trim();
    if (url) return { url, source: 'embedded' };
  }
  return { url: DEFAULT_NATS_URL, source: 'default' };
}
