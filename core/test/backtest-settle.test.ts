import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AckPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../src/backtest/run.js';
import { PipelineProbe } from '../src/backtest/settle.js';
import { freePort } from '../src/bus/nats-server.js';
import type { ActorHost } from '../src/host/host.js';
import { createLogger } from '../src/log/logger.js';
import { parsePlan } from '../src/plan/load.js';
import { applyPlan } from '../src/plan/store.js';
import { discoverPlugins } from '../src/plugin/loader.js';
import { startTestNats, type TestNats } from '../src/testing/index.js';
import { walkBars, writeData } from './fixtures/backtest-data.js';

const REPO = resolve(__dirname, '../..');
const T0 = Date.UTC(2026, 0, 1);
const SERIES = { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m' };

/** Waits (without a clock) until the probe has made `n` more settle checks, or `done()`. */
async function checksPassed(probe: PipelineProbe, n: number, done: () => boolean): Promise<void> {
  const until = probe.counts.checks + n;
  while (probe.counts.checks < until && !done()) await new Promise((r) => setImmediate(r));
}

/**
 * The lockstep's settle check against a real nats-server and the real simulator's lockstep
 * control: a durable that did not exist at the first check holds the bar while it has a message
 * unacknowledged. (The probe asks only about streams that hold a durable; a durable created later
 * reaches it through the server's advisory, not through the periodic re-listing.)
 */
describe('backtest settle check', () => {
  let nats: TestNats;
  let host: ActorHost;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-settle-'));
    nats = await startTestNats();
    const csv = await writeData(root, 'BTC-USDT-SWAP_1m.csv', walkBars({ start: T0, count: 70, price: 43_000, seed: 3 }));
    await applyPlan(
      nats.bus,
      parsePlan(
        `apiVersion: kokex/v1
kind: Plan
metadata: { name: settle }
spec:
  venue: { name: okx, mode: sim, sim: { file: ${csv} } }
  instrument: BTC-USDT-SWAP
  timeframe: 1m
  data: { window: 1h, sources: [venue] }
  risk: { maxNotional: 1000, maxPositionNotional: 3000, maxDailyLoss: 150 }
`,
        'settle.yaml',
      ),
      'settle.yaml',
    );
    const port = await freePort();
    const dirs = await discoverPlugins([join(REPO, 'plugins')]);
    host = await startHost(
      nats.bus,
      createLogger({ level: 'error' }),
      dirs,
      ['okx-sim'],
      { 'okx-sim': { port, lockstep: { startAt: T0 + 60 * 60_000 } } },
      port,
    );
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    await nats?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('holds the bar while a durable created after the first check has a message unacknowledged', async () => {
    const probe = new PipelineProbe(nats.bus, SERIES);
    probe.start();
    try {
      // The first check lists the streams; nothing is in flight.
      await probe.settle(undefined, 30_000);

      await nats.bus.jsm.streams.add({ name: 'SETTLE_TEST', subjects: ['kokex.test.settle.>'] });
      await nats.bus.jsm.consumers.add('SETTLE_TEST', { durable_name: 'late', ack_policy: AckPolicy.Explicit });
      await nats.bus.js.publish('kokex.test.settle.x', 'work');
      const consumer = await nats.bus.js.consumers.get('SETTLE_TEST', 'late');
      const msg = await consumer.next({ expires: 5_000 });
      expect(msg).not.toBeNull();

      let settled = false;
      const settling = probe.settle(undefined, 30_000).then(() => {
        settled = true;
      });
      // Several checks see the message unacknowledged: the bar is held.
      await checksPassed(probe, 4, () => settled);
      expect(settled).toBe(false);

      await msg?.ackAck();
      await settling;
      expect(settled).toBe(true);
    } finally {
      probe.stop();
    }
  }, 60_000);
});
