import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPlan, Buckets, type Bus, connectBus, freePort, loadPlanFile, Streams } from '@kokex/core';
import { createOkxVenueAdapter } from '@kokex/plugin-okx';
import { describe, expect, it } from 'vitest';
import {
  CHAOS_HOSTS,
  CHAOS_PLAN,
  guardPositions,
  INST,
  lastBar,
  manualIntent,
  ordersJson,
  PLAN,
  publishIntent,
} from '../../scripts/chaos/harness.js';
import { envelopeOf, HostProcess, logDirOf, NatsNode, readStream, until } from '../../scripts/chaos/lib.js';

/**
 * Issue 12, "Done when": a clean restart of the demo leaves the guard, the executor and the venue
 * agreeing. The demo plan on the OKX simulator, each actor kind group in a `kokex host` process of
 * its own against a real nats-server (as `npm run chaos` runs it, without the agent, so that only
 * this test's orders move the books, and without the inferencer, which the plan does not need to
 * trade): a position is bought and a limit order left resting, every
 * host is stopped cleanly (SIGTERM, the simulator last) and started again on the same store. Then
 * the position as the running guard reports it, as `kokex orders` rebuilds it from ORDERS, as the
 * executor's reconciliation found it at the venue and as the venue reports it (REST) are one
 * number, and the open orders are the same set everywhere; the reconciliation found no difference.
 */
/** The trading path: the venue, the data, the guard and the executor (the plan trades without forecasts). */
const HOSTS = Object.entries(CHAOS_HOSTS).filter(([name]) => name !== 'agent' && name !== 'inferencer');

interface Books {
  guard: number | null;
  guardOpen: number | null;
  rebuilt: number | null;
  rebuiltOpen: string[] | null;
  executorVenueView: number | null;
  reconciled: { seq: number; position: number | null; open: string[]; differences: unknown[] } | undefined;
  venue: number;
  venueOpen: string[];
}

async function books(bus: Bus, natsUrl: string, simPort: number): Promise<Books> {
  const venue = createOkxVenueAdapter({ mode: 'sim', simPort } as never);
  try {
    const [positions, open] = await Promise.all([venue.positions(), venue.openOrders(INST)]);
    const status = await guardPositions(bus);
    const kv = await bus.kv(Buckets.actors);
    let guardOpen: number | null = null;
    for await (const key of await kv.keys('risk-guard.>')) {
      const e = await kv.get(key);
      if (e?.operation !== 'PUT' || !e.length) continue;
      const plan = e.json<{ detail: { plans?: Array<{ plan: string; openOrders: number }> } }>().detail.plans?.find((p) => p.plan === PLAN);
      if (plan) guardOpen = plan.openOrders;
    }
    const rebuilt = ordersJson(natsUrl);
    const view = await (await bus.kv(Buckets.positions)).get(`${PLAN}.${INST}`);
    const reconciles = (await readStream(bus, Streams.orders, `kokex.order.reconcile.${PLAN}.${INST}`))
      .map((r) => ({ seq: r.seq, env: envelopeOf(r) }))
      .filter((r) => r.env?.data?.status === 'reconciled');
    const last = reconciles.at(-1);
    return {
      guard: status ? (status.get(INST) ?? 0) : null,
      guardOpen,
      rebuilt: rebuilt ? (rebuilt.positions?.[INST]?.qty ?? 0) : null,
      rebuiltOpen: rebuilt ? (rebuilt.openOrders ?? []).map((o: { clientOrderId: string }) => o.clientOrderId).sort() : null,
      executorVenueView: view?.operation === 'PUT' && view.length ? (view.json<{ size: number }>().size ?? 0) : null,
      reconciled: last
        ? {
            seq: last.seq,
            position: last.env?.data?.position?.size ?? null,
            open: ((last.env?.data?.openOrders ?? []) as Array<{ clientOrderId?: string }>).map((o) => o.clientOrderId ?? '?').sort(),
            differences: last.env?.data?.differences ?? [],
          }
        : undefined,
      venue: Math.round(positions.filter((p) => p.inst === INST).reduce((n, p) => n + p.size, 0) * 1e9) / 1e9,
      venueOpen: open.map((o) => o.clientOrderId ?? '?').sort(),
    };
  } finally {
    await venue.close().catch(() => undefined);
  }
}

const agree = (b: Books) =>
  b.guard === b.venue &&
  b.rebuilt === b.venue &&
  b.executorVenueView === b.venue &&
  b.reconciled?.position === b.venue &&
  b.guardOpen === b.venueOpen.length &&
  JSON.stringify(b.rebuiltOpen) === JSON.stringify(b.venueOpen) &&
  JSON.stringify(b.reconciled?.open) === JSON.stringify(b.venueOpen);

describe('a clean restart of the demo', () => {
  it('leaves the guard, the executor and the venue agreeing on the position and the open orders', async () => {
    const simPort = await freePort();
    const tmp = mkdtempSync(join(tmpdir(), 'kokex-restart-'));
    const planFile = join(tmp, 'chaos-plan.yaml');
    writeFileSync(planFile, CHAOS_PLAN);
    const nats = new NatsNode('nats', await freePort(), join(tmp, 'js'));
    await nats.start();
    const bus = await connectBus({ url: nats.url, name: 'kokex-restart-test', reconnect: true });
    const hosts = HOSTS.map(
      ([name, kinds]) =>
        new HostProcess(
          name,
          kinds,
          { NATS_URL: nats.url, KOKEX_HOME: join(tmp, 'home', name), KOKEX_SIM_PORT: String(simPort) },
          logDirOf(tmp),
        ),
    );
    const tails = () => hosts.map((h) => `--- ${h.name}\n${h.tail()}`).join('\n');
    let ok = false;
    try {
      await bus.provision();
      await applyPlan(bus, await loadPlanFile(planFile), planFile);
      for (const h of hosts) h.start();
      for (const h of hosts) expect(await h.waitRunning(180_000), `${h.name} runs\n${h.tail()}`).toBe(true);

      const verdicts = new Map<string, string>();
      const sub = bus.nc.subscribe('kokex.order.verdict.>', {
        callback: (_e, m) => {
          const env = envelopeOf({ seq: 0, subject: m.subject, data: m.data, storedAt: 0 });
          if (env?.data?.clientOrderId) verdicts.set(env.data.clientOrderId, `${env.data.decision} ${env.data.reason}`);
        },
      });
      // A buy of 0.3 ct, sent again under a new id until one is approved (the first ones may be
      // RECONCILING or INTENT_EXPIRED while the system starts).
      let n = 0;
      const approvedOnce = async (intent: (id: string) => Parameters<typeof publishIntent>[1]) => {
        for (;;) {
          const id = `restart${++n}`;
          await publishIntent(bus, intent(id));
          await until(() => verdicts.has(id), 30_000, 200);
          if (verdicts.get(id)?.startsWith('approve')) return id;
          if (n > 60) throw new Error(`no approval in 60 intents: ${[...verdicts].join('; ')}\n${tails()}`);
          await new Promise((r) => setTimeout(r, 2000));
        }
      };
      await approvedOnce((id) => manualIntent(0, 0.3, id));
      const price = (await lastBar(bus))?.close ?? 0;
      expect(price).toBeGreaterThan(0);
      // A limit buy 4% under the market (inside the plan's 5% price band): it rests.
      const resting = await approvedOnce((id) => ({
        ...manualIntent(0, 0.1, id),
        type: 'limit' as const,
        price: Math.round(price * 0.96 * 10) / 10,
      }));
      const before = await until(
        async () => {
          const b = await books(bus, nats.url, simPort);
          return b.venue > 0 && b.venueOpen.includes(resting) && agree(b);
        },
        120_000,
        2000,
      );
      expect(before, `the books agree before the restart: ${JSON.stringify(await books(bus, nats.url, simPort))}`).toBe(true);
      const seqBefore = (await books(bus, nats.url, simPort)).reconciled?.seq ?? 0;
      sub.unsubscribe();

      // Every host stopped cleanly (the venue last), then started again on the same store.
      for (const h of hosts.filter((x) => x.name !== 'sim')) await h.stop(30_000);
      await hosts.find((x) => x.name === 'sim')?.stop(30_000);
      const sim = hosts.find((x) => x.name === 'sim') as HostProcess;
      sim.start();
      expect(await sim.waitRunning(180_000), sim.tail()).toBe(true);
      for (const h of hosts.filter((x) => x.name !== 'sim')) h.start();
      for (const h of hosts) expect(await h.waitRunning(180_000), `${h.name} runs again\n${h.tail()}`).toBe(true);

      // The executor reconciles at start; the guard books it. Then all of them say the same.
      let after: Books | undefined;
      const agreed = await until(
        async () => {
          after = await books(bus, nats.url, simPort);
          return (after.reconciled?.seq ?? 0) > seqBefore && agree(after);
        },
        180_000,
        2000,
      );
      expect(agreed, `after the restart: ${JSON.stringify(after)}\n${tails()}`).toBe(true);
      expect(after?.venue).toBeGreaterThan(0);
      expect(after?.venueOpen).toContain(resting);
      expect(after?.reconciled?.differences).toEqual([]);
      ok = true;
    } finally {
      await Promise.all(hosts.map((h) => h.stop(10_000).catch(() => undefined)));
      for (const h of hosts) h.close();
      await bus.close().catch(() => undefined);
      await nats.stop();
      if (ok) rmSync(tmp, { recursive: true, force: true });
      else console.log(`kept ${tmp}`);
    }
  }, 900_000);
});
