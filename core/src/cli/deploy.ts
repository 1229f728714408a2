import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ActorAccess, accessOf, buildUsers, renderNatsConfig } from '../deploy/access.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { loadPlugin } from '../plugin/loader.js';
import { findPlugins } from './runtime.js';

/**
 * `kokex deploy nats [plan…] --out DIR`: one NATS user per actor kind with the allow-lists its
 * plugin declares for these plans. Writes `nats.conf` and `users.env` (the passwords; keep it
 * secret). Passwords already in `users.env` are kept, so regenerating never locks actors out.
 */
export async function deployNats(planFiles: string[], outDir = 'deploy/nats'): Promise<string> {
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
  if (existsSync(envFile)) {
    for (const line of (await readFile(envFile, 'utf8')).split('\n')) {
      const m = /^KOKEX_NATS_PASSWORD_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2]) passwords[m[1].toLowerCase().replace(/_/g, '-')] = m[2];
    }
  }
  const users = buildUsers({ actors, passwords });
  await writeFile(join(out, 'nats.conf'), renderNatsConfig(users));
  const env = users.map((u) => `KOKEX_NATS_PASSWORD_${u.user.toUpperCase().replace(/-/g, '_')}=${u.password}`);
  await writeFile(
    envFile,
    `# NATS passwords per actor kind (NATS_USER=<kind>, NATS_PASSWORD=<value>). Secret: do not commit.\n${env.join('\n')}\n`,
    { mode: 0o600 },
  );
  const restricted = users.filter((u) => u.permissions).map((u) => u.user);
  return `wrote ${join(outDir, 'nats.conf')} (users: admin, ${restricted.join(', ')}) and ${join(outDir, 'users.env')} (secret)`;
}
