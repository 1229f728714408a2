import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorsTable, detailText } from '../src/cli/commands.js';
import { ActorHost } from '../src/index.js';
import { captureLogger, eventually, startTestNats, type TestNats } from '../src/testing/index.js';

/** Writes a plugin package the way a user would, in a folder outside the repository, with no node_modules. */
async function writeOutsidePlugin(dir: string, version: string, hostRange = '^0.1.0'): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'outside-echo',
      version,
      type: 'module',
      kokex: { entry: './src/index.ts', actors: ['outside-echo'], host: hostRange },
      peerDependencies: { '@kokex/core': '^0.1.0', zod: '^3.25.0' },
    }),
  );
  await writeFile(
    join(dir, 'src/index.ts'),
    `import { defineActorKind, definePlugin } from '@kokex/core';
import { z } from 'zod';

const configSchema = z.object({ greeting: z.string().default('hello') });
type Config = z.output<typeof configSchema>;

export const echoActor = defineActorKind<Config>({
  kind: 'outside-echo',
  description: 'a plugin written outside the repository',
  configSchema,
  create: (ctx) => ({ status: () => ({ greeting: ctx.config.greeting, version: '${version}' }) }),
});

export default definePlugin({ name: 'outside-echo', version: '${version}', actors: [echoActor] });
`,
  );
}

describe('the DETAIL column of kokex actors', () => {
  it('shows status fields as key=value, JSON for the rest, cut to its width, - for none', () => {
    expect(detailText({ url: 'http://x', n: 3, ok: true, list: [1, 2], gone: undefined })).toBe('url=http://x n=3 ok=true list=[1,2]');
    expect(detailText({})).toBe('-');
    expect(detailText(undefined)).toBe('-');
    const long = detailText({ text: 'a'.repeat(100) }, 20);
    expect(long).toHaveLength(20);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('a plugin from outside the repository', () => {
  let nats: TestNats;
  let root: string;
  beforeAll(async () => {
    nats = await startTestNats();
    root = await mkdtemp(join(tmpdir(), 'kokex-outside-'));
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('loads, reloads and unloads with no symlink: the host lends its own @kokex/core and zod', async () => {
    const v1 = join(root, 'echo-v1');
    const v2 = join(root, 'echo-v2');
    await writeOutsidePlugin(v1, '1.0.0');
    await writeOutsidePlugin(v2, '2.0.0');
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, heartbeatMs: 100 });
    try {
      const loaded = await host.loadPlugin(v1);
      expect(loaded.pkg.name).toBe('outside-echo');
      await host.start();
      await eventually(() => host.instances().some((i) => i.kind === 'outside-echo' && i.state === 'running'));
      // Its status() fields reach `kokex actors`: whole in --json, key=value in the table's DETAIL column.
      let listed: Array<{ kind: string; detail: Record<string, unknown> }> = [];
      await eventually(async () => {
        listed = (JSON.parse(await actorsTable(nats.bus, { json: true })) as typeof listed).filter((a) => a.kind === 'outside-echo');
        return listed.length === 1;
      });
      expect(listed[0]?.detail).toEqual({ greeting: 'hello', version: '1.0.0' });
      const table = (await actorsTable(nats.bus)).split('\n');
      expect(table[0]).toMatch(/\bDETAIL$/);
      expect(table.find((l) => l.startsWith('outside-echo'))).toMatch(/ greeting=hello version=1\.0\.0$/);
      const result = await host.reloadPlugin('outside-echo', v2);
      expect(result).toMatchObject({ from: '1.0.0', to: '2.0.0' });
      await eventually(() =>
        host.instances().some((i) => i.kind === 'outside-echo' && i.plugin.version === '2.0.0' && i.state === 'running'),
      );
      // The new version runs on the host's own core: its status reaches the host unchanged.
      expect(host.instances().find((i) => i.plugin.version === '2.0.0')?.plugin.name).toBe('outside-echo');
      expect(await host.unloadPlugin('outside-echo')).toBeGreaterThan(0);
      expect(host.instances().filter((i) => i.kind === 'outside-echo')).toEqual([]);
    } finally {
      await host.stop();
    }
  });

  it('refuses a plugin that asks for another host version, naming both', async () => {
    const dir = join(root, 'echo-future');
    await writeOutsidePlugin(dir, '1.0.0', '^9.0.0');
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log });
    try {
      await expect(host.loadPlugin(dir)).rejects.toThrow(/plugin outside-echo: needs host \^9\.0\.0, this host is 0\.1\.0/);
    } finally {
      await host.stop();
    }
  });
});
