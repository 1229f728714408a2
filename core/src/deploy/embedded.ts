import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kokexHome, natsUrlFile } from '../config.js';
import { type ActorAccess, buildUsers, renderNatsConfig } from './access.js';

/**
 * The embedded nats-server of `kokex up` is not open either: it starts with a generated
 * configuration (`{KOKEX_HOME}/nats.conf`, listening on 127.0.0.1 only) that lets in only the users
 * of `{KOKEX_HOME}/nats-users.json`, both written 0600 and kept across starts. `kokex up` and every
 * `kokex` command on the same home connect as its `admin` (`connectBus` finds the credentials when
 * the URL is the embedded one); a local process without them cannot connect, so it cannot forge
 * an approval or a verdict. Kinds given in `actors` get their own restricted users as `kokex deploy
 * nats` makes them, for hosts started beside `kokex up` with `NATS_USER`/`NATS_PASSWORD`.
 */
export interface EmbeddedAuth {
  /** The server configuration to start nats-server with (`-c`). */
  configFile: string;
  /** The operator identity the runtime itself connects as. */
  admin: { user: string; password: string };
}

const SECRET = 0o600;

export function embeddedUsersFile(home = kokexHome()): string {
  return join(home, 'nats-users.json');
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: SECRET });
  chmodSync(file, SECRET);
}

function readUsers(home: string): Record<string, string> {
  const file = embeddedUsersFile(home);
  if (!existsSync(file)) return {};
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as Array<{ user: string; password: string }>;
    return Object.fromEntries(list.filter((u) => u.user && u.password).map((u) => [u.user, u.password]));
  } catch {
    return {};
  }
}

/** Writes (or rewrites, keeping passwords) the embedded server's users and configuration under `home`. */
export function ensureEmbeddedAuth(home: string, options: { port?: number; actors?: Record<string, ActorAccess> } = {}): EmbeddedAuth {
  const users = buildUsers({ actors: options.actors ?? {}, passwords: readUsers(home) });
  writeSecret(
    embeddedUsersFile(home),
    `${JSON.stringify(
      users.map(({ user, password }) => ({ user, password })),
      null,
      2,
    )}\n`,
  );
  const configFile = join(home, 'nats.conf');
  writeSecret(configFile, renderNatsConfig(users, { host: '127.0.0.1', ...(options.port ? { port: options.port } : {}) }));
  const admin = users.find((u) => u.user === 'admin') as { user: string; password: string };
  return { configFile, admin: { user: admin.user, password: admin.password } };
}

/**
 * The embedded server's operator credentials when `url` is the server `kokex up` started under
 * this home (its URL file says so), else undefined.
 */
export function embeddedCredentials(url: string, env: NodeJS.ProcessEnv = process.env): { user: string; password: string } | undefined {
  const home = kokexHome(env);
  const urlFile = natsUrlFile(home);
  if (!existsSync(urlFile) || readFileSync(urlFile, 'utf8').trim() !== url) return undefined;
  const password = readUsers(home).admin;
  return password ? { user: 'admin', password } : undefined;
}
