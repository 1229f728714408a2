import {
  applyPlan,
  type Bus,
  CandleContract,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  type Reconcile,
  ReconcileContract,
  Streams,
  subject,
} from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approval,
  approve,
  awaitEvent,
  executorSettings,
  hostWith,
  PLUGIN_DIRS,
  simPlan,
  simulator,
  SWAP,
  venuesReady,
} from './support.js';

let sim: OkxSimulator;
let port: number;
const servers: TestNats[] = [];

beforeAll(async () => {
  ({ sim, port } = await simulator());
});

afterAll(async () => {
  await sim?.stop();
  for (const s of servers) await s.stop().catch(() => undefined);
});

async function stored<T>(bus: Bus, filter: string, decode: (d: Uint8Array) => T): Promise<T[]> {
  const out: T[] = [];
  for (let seq = 1; ; ) {
    const msg = await bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: filter, seq } as never).catch(() => null);
    if (!msg) return out;
    out.push(decode(msg.data));
    seq = msg.seq + 1;
  }
}

const reconciles = (bus: Bus) => stored(bus, 'kokex.order.reconcile.truth.*', (d) => ReconcileContract.decode(d).data as Reconcile);
const verdictOf = async (bus: Bus, id: string) =>
  (await stored(bus, 'kokex.order.verdict.truth.*', (d) => OrderVerdictContract.decode(d).data as OrderVerdict)).find(
    (v) => v.clientOrderId === id,
  );

describe('startup reconciliation: the venue is the truth', () => {
  it('names a position ORDERS does not know, rebuilds the guard on it, and holds new risk RECONCILING until then', async () => {
    // A first life: the executor buys 3 at the simulator, on a server whose store is then lost.
    const first = await startTestNats();
    servers.push(first);
    await applyPlan(first.bus, simPlan('truth'));
    const before = await hostWith(first.bus, ['executor'], { executor: executorSettings(port) }, [PLUGIN_DIRS.okx, PLUGIN_DIRS.executor]);
    await venuesReady(before);
    await approve(first.bus, approval('truth', 'seed1', { size: 3 }));
    await awaitEvent(first.bus, 'seed1', 'accepted');
    sim.step();
    await awaitEvent(first.bus, 'seed1', 'filled');
    await before.stop();
    await first.stop();
    expect(sim.account()?.positions.get(SWAP)?.pos).toBe(3);

    // A second life on an empty store: the venue holds 3, ORDERS knows nothing of it.
    const nats = await startTestNats();
    servers.push(nats);
    await applyPlan(nats.bus, simPlan('truth'));
    const bar = Math.floor(Date.now() / 60_000) * 60_000;
    await nats.bus.publish(
      CandleContract,
      subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }),
      {
        venue: 'okx',
        inst: SWAP,
        tf: '1m',
        ts: bar - 60_000,
        open: 40_000,
        high: 40_000,
        low: 40_000,
        close: 40_000,
        volume: 1,
        confirmed: true,
      },
      { id: 'truth:candle' },
    );
    // A slow venue keeps the first reconciliation in progress while an intent is judged.
    sim.setFaults({ slowResponseMs: 1500 });
    const host = await hostWith(
      nats.bus,
      ['risk-guard', 'executor'],
      {
        'risk-guard': { instruments: { [SWAP]: { tickSize: 0.1, lotSize: 0.01, minSize: 0.01, contractValue: 0.01 } }, pollMs: 200 },
        executor: { ...executorSettings(port), reconcileEveryMs: 1000 },
      },
      [PLUGIN_DIRS.okx, PLUGIN_DIRS.guard, PLUGIN_DIRS.executor],
    );
    const intent = (clientOrderId: string, reduceOnly = false) =>
      nats.bus.publish(
        OrderIntentContract,
        subject('orderIntent', { plan: 'truth', inst: SWAP }),
        {
          plan: 'truth',
          venue: 'okx',
          inst: SWAP,
          side: reduceOnly ? ('sell' as const) : ('buy' as const),
          size: 1,
          type: 'market' as const,
          reduceOnly,
          clientOrderId,
          origin: { kind: 'manual' as const, who: 'test', why: 'reconcile' },
          basis: { kind: 'manual' as const },
        },
        { id: `intent:${clientOrderId}` },
      );
    try {
      await eventually(async () => (await reconciles(nats.bus)).some((r) => r.status === 'reconciling'), 20_000);
      await intent('early1');
      await eventually(async () => (await verdictOf(nats.bus, 'early1')) !== undefined, 20_000);
      expect(await verdictOf(nats.bus, 'early1')).toMatchObject({
        decision: 'deny',
        reason: 'RECONCILING',
        rule: 'reconciliation',
        value: 'reconciling',
      });
      // Nothing was reconciled yet when it was judged.
      expect((await reconciles(nats.bus)).map((r) => r.status)).toEqual(['reconciling']);

      sim.setFaults({ slowResponseMs: 0 });
      await eventually(async () => (await reconciles(nats.bus)).some((r) => r.status === 'reconciled'), 30_000);
      const done = (await reconciles(nats.bus)).find((r) => r.status === 'reconciled') as Reconcile;
      expect(done).toMatchObject({ plan: 'truth', venue: 'okx', inst: SWAP, position: { size: 3 }, booked: 0 });
      expect(done.differences).toContainEqual(expect.objectContaining({ kind: 'position', venue: 3, book: 0 }));

      // The guard's book is the venue's now, and new risk passes.
      await eventually(() => {
        const plans = host.statuses().find((s) => s.kind === 'risk-guard')?.detail.plans as Array<{
          plan: string;
          positions: Array<{ qty: number }>;
        }>;
        return plans?.find((p) => p.plan === 'truth')?.positions[0]?.qty === 3;
      }, 20_000);
      await intent('late1');
      await eventually(async () => (await verdictOf(nats.bus, 'late1')) !== undefined, 20_000);
      expect(await verdictOf(nats.bus, 'late1')).toMatchObject({ decision: 'approve', reason: 'OK' });
      await awaitEvent(nats.bus, 'late1', 'accepted', 20_000);
      sim.step();
      await awaitEvent(nats.bus, 'late1', 'filled', 20_000);
      // The periodic reconciliation (every second here) finds them agreeing: 3 from the venue, 1 filled since.
      await eventually(async () => (await reconciles(nats.bus)).some((r) => r.status === 'reconciled' && r.position?.size === 4), 30_000);
      const later = (await reconciles(nats.bus)).find((r) => r.status === 'reconciled' && r.position?.size === 4) as Reconcile;
      expect(later).toMatchObject({ booked: 4, differences: [] });
    } finally {
      sim.setFaults({ slowResponseMs: 0 });
      await host.stop();
    }
  }, 150_000);

  it('does not rebase the books on a position read before a fill whose event ORDERS holds, and a restart counts from the last reconciliation', async () => {
    const nats = await startTestNats();
    servers.push(nats);
    await applyPlan(nats.bus, simPlan('race'));
    let host = await hostWith(nats.bus, ['executor'], { executor: { ...executorSettings(port), reconcileEveryMs: 1000 } }, [
      PLUGIN_DIRS.okx,
      PLUGIN_DIRS.executor,
    ]);
    const raceReconciles = async () =>
      (await stored(nats.bus, 'kokex.order.reconcile.race.*', (d) => ReconcileContract.decode(d).data as Reconcile)).filter(
        (r) => r.status === 'reconciled',
      );
    try {
      await venuesReady(host);
      await eventually(async () => (await raceReconciles()).length > 0, 20_000);
      const held = sim.account()?.positions.get(SWAP)?.pos ?? 0;
      await approve(nats.bus, approval('race', 'race1', { size: 2 }));
      await awaitEvent(nats.bus, 'race1', 'accepted');
      await new Promise((r) => setTimeout(r, 500));
      const startup = (await raceReconciles()).length;
      // The venue answers the next positions request with the size before the fill, fills the
      // order while that answer is in flight, and holds the answer until the fill's event is
      // stored in ORDERS: the reconciliation then sees the fill in ORDERS but not in the position.
      sim.beforeReply('/api/v5/account/positions', async () => {
        sim.step();
        await awaitEvent(nats.bus, 'race1', 'filled');
        await new Promise((r) => setTimeout(r, 200));
      });
      await eventually(async () => (await raceReconciles()).filter((r) => r.position?.size === held + 2).length >= 2, 30_000);
      const after = (await raceReconciles()).slice(startup);
      for (const r of after) {
        // Every reconciliation after the fill agrees with the venue: no difference, books = venue.
        expect(r.differences).toEqual([]);
        expect(r.booked).toBe(r.position?.size);
      }
      expect(after.some((r) => r.position?.size === held + 2)).toBe(true);

      // A start that never finishes its reconciliation leaves its announcement (`reconciling`)
      // last on the subject. The next executor still counts ORDERS from the last reconciliation
      // (which the announcement names), not from the stream's first message, which knows nothing
      // of the position the venue held before this store.
      await host.stop();
      const before = (await raceReconciles()).length;
      const announcements = async () =>
        (await stored(nats.bus, 'kokex.order.reconcile.race.*', (d) => ReconcileContract.decode(d).data as Reconcile)).filter(
          (r) => r.status === 'reconciling',
        );
      const announcedBefore = (await announcements()).length;
      sim.setFaults({ slowResponseMs: 5000 });
      host = await hostWith(nats.bus, ['executor'], { executor: { ...executorSettings(port), reconcileEveryMs: 60_000 } }, [
        PLUGIN_DIRS.okx,
        PLUGIN_DIRS.executor,
      ]);
      await eventually(async () => (await announcements()).length > announcedBefore, 20_000);
      await host.stop();
      sim.setFaults({ slowResponseMs: 0 });
      expect((await raceReconciles()).length).toBe(before);
      host = await hostWith(nats.bus, ['executor'], { executor: { ...executorSettings(port), reconcileEveryMs: 60_000 } }, [
        PLUGIN_DIRS.okx,
        PLUGIN_DIRS.executor,
      ]);
      await eventually(async () => (await raceReconciles()).length > before, 20_000);
      const announced = (
        await stored(nats.bus, 'kokex.order.reconcile.race.*', (d) => ReconcileContract.decode(d).data as Reconcile)
      ).filter((r) => r.status === 'reconciling');
      expect(announced.at(-1)?.since).toBeGreaterThan(0);
      const restarted = (await raceReconciles()).at(-1) as Reconcile;
      expect(restarted).toMatchObject({ position: { size: held + 2 }, booked: held + 2, differences: [] });
    } finally {
      sim.setFaults({ slowResponseMs: 0 });
      await host.stop();
    }
  }, 120_000);
});
