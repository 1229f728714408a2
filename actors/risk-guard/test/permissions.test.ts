import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActorAccess,
  ActorHost,
  applyPlan,
  applyTradingCommand,
  ApprovedOrderContract,
  Buckets,
  buildUsers,
  type Bus,
  connectBus,
  controlKey,
  initialControl,
  loadPlugin,
  NatsServerProcess,
  ReconcileContract,
  renderNatsConfig,
  Streams,
  subject,
  writeControl,
} from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adapterSettings,
  DIRS,
  eventOf,
  intentOf,
  orderPlan,
  PRICE,
  cancelVerdictOf,
  publishCandle,
  sendCancel,
  sendIntent,
  startSim,
  SWAP,
  verdictOf,
} from './support.js';

/**
 * The guard and the executor each under the NATS user `kokex deploy nats` generates from their
 * declared access: the whole order path works with nothing more, and each is refused the other's
 * privilege (only the guard publishes approvals, only the executor consumes them).
 */
const EMPTY: ActorAccess = { publish: [], subscribe: [], consume: [], kv: [], objectStores: [] };
const cleanup: Array<() => Promise<unknown>> = [];
const plan = orderPlan('perm', { requireTradeableForecast: 'false', priceBand: '0.2' });
let admin: Bus;
let sim: OkxSimulator;
let as: (user: string) => Promise<Bus>;
let access: Record<string, ActorAccess>;

beforeAll(async () => {
  access = {};
  for (const dir of [DIRS.guard, DIRS.executor]) {
    for (const kind of (await loadPlugin(dir)).definition.actors ?? []) access[kind.kind] = { ...EMPTY, ...(kind.access?.([plan]) ?? {}) };
  }
  const users = buildUsers({ actors: access });
  const dir = await mkdtemp(join(tmpdir(), 'kokex-orders-perm-'));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  const server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  cleanup.push(
    () => rm(dir, { recursive: true, force: true }),
    () => server.stop(),
  );
  as = async (user) => {
    const bus = await connectBus({ url: server.url, user, password: users.find((u) => u.user === user)?.password, reconnect: false });
    cleanup.push(() => bus.close());
    return bus;
  };
  admin = await as('admin');
  await admin.provision();
  await applyPlan(admin, plan);
  await publishCandle(admin);
  const started = await startSim();
  sim = started.sim;
  cleanup.push(() => sim.stop());
  const adapters = adapterSettings(started.port);
  for (const kind of ['risk-guard', 'executor']) {
    const host = new ActorHost({
      bus: await as(kind),
      log: captureLogger('error').log,
      kinds: [kind],
      config: { [kind]: { adapters, ...(kind === 'executor' ? { reconnectMs: 200 } : { pollMs: 200 }) } },
    });
    await host.loadPlugin(DIRS.okx);
    await host.loadPlugin(kind === 'executor' ? DIRS.executor : DIRS.guard);
    await host.start();
    cleanup.push(() => host.stop());
  }
  // New risk waits for the executor's first reconciliation (RECONCILING until then).
  await eventually(async () => {
    const last = await admin.last(`kokex.order.reconcile.perm.${SWAP}`);
    return last !== undefined && ReconcileContract.decode(last.data).data.status === 'reconciled';
  }, 30_000);
});

/** What the server says to a subscription: its refusal, `received` for a message, `silent` for nothing in 2 s. */
function subscriptionRefusal(bus: Bus, filter: string): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('silent'), 2000);
    bus.nc.subscribe(filter, {
      callback: (err) => {
        clearTimeout(timer);
        resolve(err ? err.message : 'received');
      },
    });
  });
}

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('guard and executor under their generated NATS users', () => {
  it('declare exactly the order path: the guard publishes approvals, the executor consumes them', () => {
    expect(access['risk-guard']?.publish).toContain('kokex.order.approved.okx.*');
    expect(access['risk-guard']?.publish).toContain('kokex.order.cancelapproved.okx.*');
    expect(access['risk-guard']?.consume).toEqual([
      { stream: Streams.orders, durable: 'risk-guard', filter: 'kokex.order.intent.*.*' },
      { stream: Streams.orders, durable: 'risk-guard-cancels', filter: 'kokex.order.cancel.*.*' },
    ]);
    expect(access.executor?.publish.some((s) => s.startsWith('kokex.order.approved') || s.startsWith('kokex.order.cancelapproved'))).toBe(
      false,
    );
    expect(access.executor?.consume).toEqual([
      { stream: Streams.orders, durable: 'executor-okx', filter: 'kokex.order.approved.okx.*' },
      { stream: Streams.orders, durable: 'executor-okx-cancels', filter: 'kokex.order.cancelapproved.okx.*' },
    ]);
  });

  it('run the order path and the kill switch with nothing but that access', async () => {
    const resting = intentOf('perm', { type: 'limit', price: PRICE * 0.9 });
    await sendIntent(admin, resting);
    expect(await verdictOf(admin, resting.clientOrderId)).toMatchObject({ decision: 'approve' });
    await eventOf(admin, resting.clientOrderId, 'accepted');
    const market = intentOf('perm');
    await sendIntent(admin, market);
    await eventOf(admin, market.clientOrderId, 'accepted');
    sim.step();
    await eventOf(admin, market.clientOrderId, 'filled');

    // A cancel request: the guard's cancel verdict and approval, the executor's cancel, all under their users.
    const cancelled = intentOf('perm', { type: 'limit', price: PRICE * 0.85 });
    await sendIntent(admin, cancelled);
    await eventOf(admin, cancelled.clientOrderId, 'accepted');
    const cancelId = await sendCancel(admin, 'perm', cancelled.clientOrderId);
    expect(await cancelVerdictOf(admin, cancelId)).toMatchObject({ decision: 'approve' });
    await eventOf(admin, cancelled.clientOrderId, 'canceled');

    await writeControl(
      admin,
      'perm',
      applyTradingCommand(initialControl('active', Date.now()), 'halt', 'test', 'permissions', Date.now())!,
    );
    await eventOf(admin, resting.clientOrderId, 'canceled');
    const after = intentOf('perm');
    await sendIntent(admin, after);
    expect(await verdictOf(admin, after.clientOrderId)).toMatchObject({ reason: 'KILL_SWITCH' });
  });

  it('refuses an approval from the executor, and the approvals consumer and subject to the guard', async () => {
    const executor = await as('executor');
    const { plan, inst, side, size, type, reduceOnly } = intentOf('perm');
    const forged = { plan, venue: 'okx', inst, side, size, type, reduceOnly, clientOrderId: 'forged1' };
    await expect(
      executor.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: SWAP }), forged, { id: 'approved:forged1' }),
    ).rejects.toThrow(/permission|timeout|no responders/i);
    const guard = await as('risk-guard');
    await expect(
      guard.jsm.consumers.add(Streams.orders, { durable_name: 'executor-okx', filter_subject: 'kokex.order.approved.okx.>' }),
    ).rejects.toThrow(/permission|timeout/i);
    expect(await subscriptionRefusal(guard, 'kokex.order.approved.>')).toMatch(/permission/i);
    await eventually(() => [...(sim.account()?.orders.values() ?? [])].every((o) => o.clOrdId !== 'forged1'));
  });

  it('lets neither the guard nor the executor lift a thrown kill switch: both only read kokex-risk', async () => {
    expect(access['risk-guard']?.kv ?? []).not.toContain(Buckets.risk);
    expect(access['risk-guard']?.kvRead).toContain(Buckets.risk);
    const halted = applyTradingCommand(initialControl('active', 1), 'halt', 'test', 'operator', 2)!;
    await writeControl(admin, 'perm-lift', halted);
    for (const user of ['risk-guard', 'executor']) {
      const kv = await (await as(user)).kv(Buckets.risk);
      expect((await kv.get(controlKey('perm-lift')))?.json()).toMatchObject({ killSwitch: true });
      const lifted = new TextEncoder().encode(JSON.stringify({ ...halted, state: 'active', killSwitch: false }));
      await expect(kv.put(controlKey('perm-lift'), lifted)).rejects.toThrow(/permission|timeout/i);
    }
  });
});
