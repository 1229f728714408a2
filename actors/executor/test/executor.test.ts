import { applyPlan, Buckets, CandleContract, OrderIntentContract, subject } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approval,
  approve,
  awaitEvent,
  eventsOf,
  executorSettings,
  hostWith,
  PLUGIN_DIRS,
  simPlan,
  simulator,
  SWAP,
  venuesReady,
} from './support.js';

let nats: TestNats;
let sim: OkxSimulator;
let port: number;

beforeAll(async () => {
  nats = await startTestNats();
  ({ sim, port } = await simulator());
  await applyPlan(nats.bus, simPlan('exec'));
  await applyPlan(nats.bus, simPlan('paperplan', 'paper', ', paper: { balance: 5000, takerFee: 0.001, slippage: 0 }'));
});

afterAll(async () => {
  await sim?.stop();
  await nats?.stop();
});

const executor = (extra: Record<string, unknown> = {}) =>
  hostWith(nats.bus, ['executor'], { executor: { ...executorSettings(port), ...extra } }, [
    PLUGIN_DIRS.okx,
    PLUGIN_DIRS.paper,
    PLUGIN_DIRS.executor,
  ]);

describe('executor against the OKX simulator', () => {
  it('resolves the execution port only: a venue no loaded plugin trades on says which plugin to add, and keeps trying', async () => {
    // No paper plugin in this host: the paper plan's session cannot trade; the okx one can.
    const host = await hostWith(nats.bus, ['executor'], { executor: executorSettings(port) }, [PLUGIN_DIRS.okx, PLUGIN_DIRS.executor]);
    try {
      const venues = () => (host.statuses().find((s) => s.kind === 'executor')?.detail.venues ?? []) as Array<Record<string, unknown>>;
      await eventually(() => venues().find((v) => v.venue === 'okx')?.state === 'ready');
      await eventually(() => typeof venues().find((v) => v.venue === 'paper')?.lastError === 'string');
      const paper = venues().find((v) => v.venue === 'paper');
      expect(paper?.state).not.toBe('ready');
      expect(paper?.lastError).toMatch(
        /no execution:paper adapter is loaded in this host \(execution adapters: okx\); add the plugin that provides it \(@kokex\/plugin-paper\)/,
      );
    } finally {
      await host.stop();
    }
  });

  it('reconciles at start: an order that filled while it was down is reported, positions are noted', async () => {
    let host = await executor();
    await venuesReady(host);
    await approve(nats.bus, approval('exec', 'recon1', { size: 2 }));
    await approve(nats.bus, approval('exec', 'rest1', { type: 'limit', price: 1000 }));
    await awaitEvent(nats.bus, 'recon1', 'accepted');
    await awaitEvent(nats.bus, 'rest1', 'accepted');
    await host.stop();

    sim.step();
    host = await executor();
    try {
      await venuesReady(host);
      const filled = await awaitEvent(nats.bus, 'recon1', 'filled');
      expect(filled).toMatchObject({ plan: 'exec', filledSize: 2, avgPrice: sim.price() });
      const venue = (host.statuses()[0]?.detail.venues as Array<Record<string, unknown>> | undefined)?.[0];
      expect(venue).toMatchObject({ state: 'ready', working: 1, lastReconcile: { open: 1, resolved: 1, foreign: 0 } });
      const position = await (await nats.bus.kv(Buckets.positions)).get(`exec.${SWAP}`);
      expect(position?.json()).toMatchObject({ inst: SWAP, size: 2 });
    } finally {
      await host.stop();
    }
  });

  it('reports a venue refusal as rejected, and rejects after the last retry of a failure that may pass', async () => {
    const host = await executor({ maxDeliver: 3 });
    try {
      await venuesReady(host);
      await approve(nats.bus, approval('exec', 'lot1', { size: 0.015 }));
      expect((await awaitEvent(nats.bus, 'lot1', 'rejected')).reason).toMatch(/^51121: /);
      sim.setFaults({ rateLimit50011: 1 });
      await approve(nats.bus, approval('exec', 'busy1'));
      const rejected = await awaitEvent(nats.bus, 'busy1', 'rejected');
      sim.setFaults({ rateLimit50011: 0 });
      expect(rejected.reason).toMatch(/^OKX_API: OKX 50011/);
      expect((host.statuses()[0]?.detail.venues as Array<{ retried: number }> | undefined)?.[0]?.retried).toBe(2);
      await approve(nats.bus, approval('gone', 'orphan1'));
      expect((await awaitEvent(nats.bus, 'orphan1', 'rejected')).reason).toBe('no active plan gone on venue okx');
      expect([...(sim.account()?.orders.values() ?? [])].filter((o) => ['lot1', 'busy1', 'orphan1'].includes(o.clOrdId))).toEqual([]);
    } finally {
      await host.stop();
    }
  });
});

describe('paper plans end to end', () => {
  it('approves to the paper venue, fills against the next stored candle with the plan’s fee, and books the position', async () => {
    const host = await hostWith(
      nats.bus,
      ['risk-guard', 'executor'],
      {
        'risk-guard': { instruments: { [SWAP]: { tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 } }, pollMs: 200 },
        executor: executorSettings(port),
      },
      [PLUGIN_DIRS.okx, PLUGIN_DIRS.paper, PLUGIN_DIRS.guard, PLUGIN_DIRS.executor],
    );
    try {
      const candle = async (close: number, ts: number) =>
        nats.bus.publish(
          CandleContract,
          subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }),
          { venue: 'okx', inst: SWAP, tf: '1m', ts, open: close, high: close, low: close, close, volume: 1, confirmed: true },
          { id: `paper:${ts}` },
        );
      const bar = Math.floor(Date.now() / 60_000) * 60_000;
      await candle(40_000, bar - 60_000);
      await venuesReady(host);
      const intent = {
        plan: 'paperplan',
        venue: 'okx',
        inst: SWAP,
        side: 'buy' as const,
        size: 3,
        type: 'market' as const,
        clientOrderId: 'paper1',
        origin: { kind: 'manual' as const, who: 'test', why: 'paper' },
        basis: { kind: 'manual' as const },
      };
      await nats.bus.publish(OrderIntentContract, subject('orderIntent', { plan: 'paperplan', inst: SWAP }), intent, {
        id: 'intent:paper1',
      });
      const accepted = await awaitEvent(nats.bus, 'paper1', 'accepted');
      expect(accepted).toMatchObject({ venue: 'paper', plan: 'paperplan' });
      await candle(40_200, bar);
      const filled = await awaitEvent(nats.bus, 'paper1', 'filled');
      expect(filled).toMatchObject({ venue: 'paper', filledSize: 3, avgPrice: 40_200 });
      expect(filled.fill?.fee).toBeCloseTo(3 * 0.01 * 40_200 * 0.001, 9);
      await eventually(() => {
        const plans = host.statuses().find((s) => s.kind === 'risk-guard')?.detail.plans as Array<{ plan: string; positions: unknown[] }>;
        return plans?.find((p) => p.plan === 'paperplan')?.positions.length === 1;
      });
      expect((await eventsOf(nats.bus, 'paper1')).map((e) => e.kind)).toEqual(['accepted', 'filled']);
    } finally {
      await host.stop();
    }
  });
});
