import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost } from '../src/index.js';
import { captureLogger, startTestNats, type TestNats } from '../src/testing/index.js';

/**
 * A plugin with a client kind listed before a local venue kind: the host starts the venue first
 * (`startsFirst`), so the client's start finds it listening, as the feed and the executor find
 * the simulator under `kokex up`.
 */
async function writePlugin(dir: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'order-probe',
      version: '1.0.0',
      type: 'module',
      kokex: { entry: './src/index.ts', actors: ['probe-client', 'probe-venue', 'probe-slow'], host: '^0.1.0' },
      peerDependencies: { '@kokex/core': '^0.1.0', zod: '^3.25.0' },
    }),
  );
  await writeFile(
    join(dir, 'src/index.ts'),
    `import { defineActorKind, definePlugin } from '@kokex/core';
import { z } from 'zod';

const started = ((globalThis as { __kokexStartOrder?: string[] }).__kokexStartOrder ??= []);
const configSchema = z.object({});
const logic = (name: string) => () => ({ start: async () => { started.push('begin:' + name); await new Promise((r) => setTimeout(r, 200)); started.push(name); } });

const client = defineActorKind({ kind: 'probe-client', description: 'connects to the venue', configSchema, create: logic('probe-client') });
const slow = defineActorKind({ kind: 'probe-slow', description: 'a slow start (model loading)', configSchema, create: logic('probe-slow') });
const venue = defineActorKind({ kind: 'probe-venue', description: 'a local venue', configSchema, startsFirst: true, create: logic('probe-venue') });

export default definePlugin({ name: 'order-probe', version: '1.0.0', actors: [client, slow, venue] });
`,
  );
}

describe('the host starts local venues first', () => {
  let nats: TestNats;
  let root: string;
  beforeAll(async () => {
    nats = await startTestNats();
    root = await mkdtemp(join(tmpdir(), 'kokex-start-order-'));
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('spawns a startsFirst kind, and waits for its start, before the kinds listed ahead of it; those start together', async () => {
    const dir = join(root, 'probe');
    await writePlugin(dir);
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, heartbeatMs: 1000 });
    try {
      await host.loadPlugin(dir);
      await host.start();
      const order = (globalThis as { __kokexStartOrder?: string[] }).__kokexStartOrder ?? [];
      // The venue's whole start comes first; the other two begin before either has finished.
      expect(order.slice(0, 2)).toEqual(['begin:probe-venue', 'probe-venue']);
      expect(order.slice(2, 4).sort()).toEqual(['begin:probe-client', 'begin:probe-slow']);
      expect(order.slice(4).sort()).toEqual(['probe-client', 'probe-slow']);
      expect(host.instances().map((i) => i.kind)).toEqual(['probe-venue', 'probe-client', 'probe-slow']);
    } finally {
      await host.stop();
    }
  });
});
