import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost } from '../src/index.js';
import { captureLogger, startTestNats, type TestNats } from '../src/testing/index.js';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('host smoke', () => {
  it('loads the clock plugin and runs it', async () => {
    const { log } = captureLogger();
    const host = new ActorHost({ bus: nats.bus, log, heartbeatMs: 200 });
    await host.loadPlugin(resolve(__dirname, '../../actors/clock'));
    await host.start();
    expect(host.instances().map((i) => [i.kind, i.state])).toEqual([['clock', 'running']]);
    await host.stop();
    expect(host.instances()).toEqual([]);
  });
});
