import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployNats } from '../src/cli/deploy.js';
import { buildUsers, connectBus, NatsServerProcess, renderNatsConfig, Streams } from '../src/index.js';

/** `kokex deploy nats`: NKey credentials, files only their owner reads, a listen address the operator chose. */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kokex-deploy-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kokex deploy nats', () => {
  it('writes nats.conf and users.env 0600, on 127.0.0.1 unless told, with NKeys whose seeds never reach the server config', async () => {
    const out = join(dir, 'nkey');
    const said = await deployNats([], { outDir: out, auth: 'nkey' });
    expect(said).toMatch(/nkey users: admin, .*listening on 127\.0\.0\.1/);
    for (const f of ['nats.conf', 'users.env']) expect((await stat(join(out, f))).mode & 0o777, f).toBe(0o600);
    const conf = await readFile(join(out, 'nats.conf'), 'utf8');
    const env = await readFile(join(out, 'users.env'), 'utf8');
    expect(conf).toMatch(/^host: "127\.0\.0\.1"$/m);
    expect(conf).toMatch(/nkey: "U[A-Z0-9]{55}"/);
    expect(conf).not.toMatch(/password|SU[A-Z0-9]{50}/);
    const seeds = [...env.matchAll(/^KOKEX_NATS_NKEY_SEED_([A-Z_]+)=(SU[A-Z0-9]+)$/gm)];
    expect(seeds.map((m) => m[1])).toContain('ADMIN');
    // Regenerating keeps every credential (running actors are not locked out).
    await writeFile(join(out, 'users.env'), env, { mode: 0o644 });
    await deployNats([], { outDir: out, auth: 'nkey', host: '10.0.0.7' });
    expect(await readFile(join(out, 'users.env'), 'utf8')).toBe(env);
    expect((await stat(join(out, 'users.env'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'nats.conf'), 'utf8')).toMatch(/^host: "10\.0\.0\.7"$/m);
  }, 120_000);

  it('lets a client in with its NKey seed and refuses a wrong one, on a real server', async () => {
    const users = buildUsers({ actors: {}, auth: 'nkey' });
    const conf = join(dir, 'server.conf');
    await writeFile(conf, renderNatsConfig(users));
    const server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', conf] });
    try {
      const admin = users.find((u) => u.user === 'admin');
      const bus = await connectBus({ url: server.url, user: 'admin', nkeySeed: admin?.seed, reconnect: false });
      expect((await bus.provision()).length).toBeGreaterThan(0);
      expect((await bus.jsm.streams.info(Streams.orders)).config.name).toBe(Streams.orders);
      await bus.close();
      const stranger = buildUsers({ actors: {}, auth: 'nkey' }).find((u) => u.user === 'admin');
      await expect(connectBus({ url: server.url, user: 'admin', nkeySeed: stranger?.seed, reconnect: false })).rejects.toThrow();
      await expect(connectBus({ url: server.url, reconnect: false })).rejects.toThrow();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
