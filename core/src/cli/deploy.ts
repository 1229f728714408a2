import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ActorAccess, accessOf, buildUsers, type NatsAuthKind, renderNatsConfig } from '../deploy/access.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { loadPlugin } from '../plugin/loader.js';
import { findPlugins } from './runtime.js';

export interface DeployNatsOptions {
  /** Default: deploy/nats. */
  outDir?: string;
  /** Interface the server listens on. Default: 127.0.0.1 (never every interface unless asked). */
  host?: string;
  /**
   * Default: password (what the Kubernetes manifests read, `KOKEX_NATS_PASSWORD_<KIND>`). `nkey`
   * is the safer choice: the server config then holds public keys only, the seeds stay in users.env.
   */
  auth?: NatsAuthKind;
}

const secretMode = 0o600;

/** Writes a file only its owner may read, also when it existed with wider rights. */
async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: secretMode });
  await chmod(file, secretMode);
}

/**
 * `kokex deploy nats [plan…] --out DIR [--host ADDR] [--auth nkey|password]`: one NATS user per
 * actor kind with the allow-lists its plugin declares for these plans, plus `admin`. Writes
 * `nats.conf` (passwords, or NKey public keys with `--auth nkey`; listening on `--host`,
 * default 127.0.0.1) and `users.env` (the seeds or passwords), both mode 0600. Credentials already
 * in `users.env` are kept, so regenerating never locks actors out. Hosts connect with
 * `NATS_USER=<kind> NATS_NKEY_SEED=<seed>` (or `NATS_PASSWORD`).
 */
export async function deployNats(planFiles: string[], options: DeployNatsOptions | string = {}): Promise<string> {
  const { outDir = 'deploy/nats', host = '127.0.0.1', auth = 'password' } = typeof options === 'string' ? { outDir: options } : options;
  const plans: Plan[] = [];
  for (const f of planFiles) plans.push(await loadPlanFile(f));
  const actors: Record<string, ActorAccess> = {};
  for (const dir of await findPlugins()) {
    const plugin = await loadPlugin(dir);
    for (const kind of plugin.definition.actors ?? []) actors[kind.kind] = accessOf(kind, plans);
  }
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const envFile = join(out, 'users.env');
  const passwords: Record<string, string> = {};
  const seeds: Record<string, string> = {};
  if (existsSync(envFile)) {
    for (const line of (await readFile(envFile, 'utf8')).split('\n')) {
      const m = /^KOKEX_NATS_(PASSWORD|NKEY_SEED)_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
      if (!m?.[2] || !m[3]) continue;
      (m[1] === 'PASSWORD' ? passwords : seeds)[m[2].toLowerCase().replace(/_/g, '-')] = m[3];
    }
  }
  const users = buildUsers({ actors, passwords, seeds, auth });
  await writeSecret(join(out, 'nats.conf'), renderNatsConfig(users, { host }));
  const name = (u: { user: string }) => u.user.toUpperCase().replace(/-/g, '_');
  const env = users.map((u) => (u.seed ? `KOKEX_NATS_NKEY_SEED_${name(u)}=${u.seed}` : `KOKEX_NATS_PASSWORD_${name(u)}=${u.password}`));
  const how = auth === 'nkey' ? 'NATS_NKEY_SEED=<value>' : 'NATS_PASSWORD=<value>';
  await writeSecret(envFile, `# NATS credentials per actor kind (NATS_USER=<kind>, ${how}). Secret: do not commit.\n${env.join('\n')}\n`);
  const restricted = users.filter((u) => u.permissions).map((u) => u.user);
  return `wrote ${join(outDir, 'nats.conf')} (${auth} users: admin, ${restricted.join(', ')}; listening on ${host}) and ${join(outDir, 'users.env')} (secret), both 0600`;
}
