import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ActorHost } from '@kokex/core';
import { captureLogger, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(__dirname, '../../..');

describe('the generated control token', () => {
  let nats: TestNats;
  let home: string;
  const saved = { home: process.env.KOKEX_HOME, token: process.env.KOKEX_DASHBOARD_TOKEN };
  beforeAll(async () => {
    nats = await startTestNats();
    home = await mkdtemp(join(tmpdir(), 'kokex-dash-home-'));
    process.env.KOKEX_HOME = home;
    delete process.env.KOKEX_DASHBOARD_TOKEN;
  });
  afterAll(async () => {
    if (saved.home === undefined) delete process.env.KOKEX_HOME;
    else process.env.KOKEX_HOME = saved.home;
    if (saved.token !== undefined) process.env.KOKEX_DASHBOARD_TOKEN = saved.token;
    await nats?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('is saved in KOKEX_HOME and the log says where, never the token itself', async () => {
    const logs = captureLogger('info');
    const host = new ActorHost({ bus: nats.bus, log: logs.log, kinds: ['dashboard'], config: { dashboard: { port: 0 } } });
    await host.loadPlugin(resolve(REPO, 'actors/dashboard'));
    await host.start();
    try {
      const file = join(home, 'dashboard.token');
      const token = (await readFile(file, 'utf8')).trim();
      expect(token.length).toBeGreaterThanOrEqual(12);
      const text = logs.lines().join('\n');
      expect(text).toContain(file);
      expect(text).not.toContain(token);
    } finally {
      await host.stop();
    }
  }, 60_000);
});
