import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { ActorHost, applyPlan, parsePlan } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binanceReplayFromPlans } from '../src/index.js';

const plan = (name: string, venue: string) =>
  parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: ${venue}, mode: sim, sim: { speed: 600 } }
  instrument: BTCUSDT
  timeframe: 1m
  data: { window: 1h }
  risk: { maxNotional: 1000, maxPositionNotional: 3000, maxDailyLoss: 100 }`,
    `${name}.yaml`,
  );

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

let nats: TestNats;
let host: ActorHost;
let port: number;

beforeAll(async () => {
  nats = await startTestNats();
  port = await freePort();
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['binance-sim'],
    config: { 'binance-sim': { port, dataDir: '/nonexistent' } },
    heartbeatMs: 200,
  });
  await host.loadPlugin(resolve(import.meta.dirname, '..'));
  await host.start();
}, 30_000);
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('the binance-sim actor', () => {
  it('serves the first binance plan in sim mode, and none other', () => {
    expect(binanceReplayFromPlans([plan('b', 'binance'), plan('a', 'okx')])).toMatchObject({
      plan: 'b',
      inst: 'BTCUSDT',
      speed: 600,
      historyMs: 3_600_000,
    });
    expect(binanceReplayFromPlans([plan('a', 'okx')])).toBeNull();
  });

  it('starts the simulator when a binance sim plan is applied and replays at the plan speed', async () => {
    const status = () => host.statuses().find((s) => s.kind === 'binance-sim')?.detail as Record<string, unknown> | undefined;
    expect(String(status()?.note)).toMatch(/idle/);
    await applyPlan(nats.bus, plan('bn', 'binance'));
    await eventually(() => String(status()?.note).startsWith('replaying for plan bn'), 20_000);
    expect(String(status()?.data)).toMatch(/^synthetic/);
    const rows = async () =>
      (await (await fetch(`http://127.0.0.1:${port}/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1`)).json()) as number[][];
    const first = (await rows())[0]?.[0] as number;
    // 600x: a bar every 100 ms of wall time.
    await eventually(async () => ((await rows())[0]?.[0] as number) > first, 10_000);
  });
});
