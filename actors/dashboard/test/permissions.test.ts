import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type ActorAccess,
  ActorHost,
  AgentTokenContract,
  ApprovedOrderContract,
  applyPlan,
  Buckets,
  type Bus,
  buildUsers,
  CandleContract,
  connectBus,
  NatsServerProcess,
  OrderVerdictContract,
  parsePlan,
  renderNatsConfig,
  subject,
} from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardModel, dashboardActor } from '../src/index.js';

/**
 * The dashboard under the NATS user `kokex deploy nats` generates from its declared access: it
 * reads the streams, buckets and live subjects it shows and makes its control requests with
 * nothing more, and the server refuses it what it does not declare (an order approval).
 */
const EMPTY: ActorAccess = { publish: [], subscribe: [], consume: [], kv: [], objectStores: [] };
const REPO = resolve(import.meta.dirname, '../../..');
const TOKEN = 'perm-token-0123456789';
const SWAP = 'BTC-USDT-SWAP';
const plan = parsePlan(
  `apiVersion: kokex/v1
kind: Plan
metadata: { name: perm }
spec:
  venue: { name: okx, mode: paper }
  instrument: ${SWAP}
  timeframe: 1m
  risk: { maxNotional: 1000, maxPositionNotional: 2000, maxDailyLoss: 100 }`,
  'perm.yaml',
);
const cleanup: Array<() => Promise<unknown>> = [];
let admin: Bus;
let dashBus: Bus;
let url: string;
let clockHost: ActorHost;

async function post(path: string, body: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-kokex-token': TOKEN },
    body: JSON.stringify({ who: 'perm', ...body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const model = async () => (await (await fetch(new URL('/api/model', url))).json()) as DashboardModel;

beforeAll(async () => {
  const users = buildUsers({ actors: { dashboard: { ...EMPTY, ...(dashboardActor.access?.([plan]) ?? {}) } } });
  const dir = await mkdtemp(join(tmpdir(), 'kokex-dashboard-perm-'));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  const server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  cleanup.push(
    () => rm(dir, { recursive: true, force: true }),
    () => server.stop(),
  );
  const password = (user: string) => users.find((u) => u.user === user)?.password;
  admin = await connectBus({ url: server.url, user: 'admin', password: password('admin'), reconnect: false });
  dashBus = await connectBus({ url: server.url, user: 'dashboard', password: password('dashboard'), reconnect: false });
  cleanup.push(
    () => admin.close(),
    () => dashBus.close(),
  );
  await admin.provision();
  await applyPlan(admin, plan);
  // An actor to steer, run as admin in a host of its own.
  clockHost = new ActorHost({ bus: admin, log: captureLogger('error').log, kinds: ['clock'], heartbeatMs: 300 });
  await clockHost.loadPlugin(resolve(REPO, 'actors/clock'));
  await clockHost.start();
  cleanup.push(() => clockHost.stop());
  const host = new ActorHost({
    bus: dashBus,
    log: captureLogger('error').log,
    kinds: ['dashboard'],
    config: { dashboard: { port: 0, token: TOKEN } },
    heartbeatMs: 300,
  });
  await host.loadPlugin(resolve(REPO, 'actors/dashboard'));
  await host.start();
  cleanup.push(() => host.stop());
  const status = host.statuses().find((s) => s.kind === 'dashboard');
  expect(status?.state).toBe('running');
  url = String(status?.detail.url);
}, 60_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('the dashboard under its generated NATS user', () => {
  it('reads streams, live subjects and buckets', async () => {
    const ts = Date.UTC(2026, 0, 5, 2);
    await admin.publish(
      CandleContract,
      subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }),
      { venue: 'okx', inst: SWAP, tf: '1m', ts, open: 1, high: 2, low: 1, close: 2, volume: 1, confirmed: true },
      { id: 'c1' },
    );
    await admin.publish(
      OrderVerdictContract,
      subject('orderVerdict', { plan: 'perm', inst: SWAP }),
      { plan: 'perm', inst: SWAP, clientOrderId: 'p1', decision: 'deny', reason: 'MAX_NOTIONAL', rule: 'risk.maxNotional', message: 'no' },
      { id: 'v1' },
    );
    await eventually(
      async () => {
        admin.emit(AgentTokenContract, subject('agentToken', { plan: 'perm', conversation: 'k1' }), {
          plan: 'perm',
          conversation: 'k1',
          seq: 0,
          kind: 'text',
          text: 'hi',
        });
        const m = await model();
        return (
          m.series[`okx ${SWAP} 1m`]?.bars.length === 1 &&
          m.orders.some((o) => o.verdict?.reason === 'MAX_NOTIONAL') &&
          m.conversations.some((c) => c.id === 'k1') &&
          Boolean(m.plans.perm) &&
          Object.keys(m.actors).some((k) => k.startsWith('clock.'))
        );
      },
      10_000,
      200,
    );
  });

  it('halts a plan, pauses an actor and applies a plan through its own requests', async () => {
    const halt = await post('/api/risk/halt/perm');
    expect(halt.status).toBe(200);
    const entry = await (await admin.kv(Buckets.risk)).get('control.perm');
    expect(entry?.json()).toMatchObject({ state: 'halted', killSwitch: true, by: expect.stringMatching(/^dashboard:perm@/) });

    const clock = clockHost.instances()[0];
    const paused = await post(`/api/actors/clock/${clock?.instanceId}/pause`);
    expect(paused.status).toBe(200);
    await eventually(() => clock?.state === 'paused');
    expect((await post(`/api/actors/clock/${clock?.instanceId}/resume`)).status).toBe(200);
    await eventually(() => clock?.state === 'running');

    const text = `apiVersion: kokex/v1
kind: Plan
metadata: { name: perm2 }
spec:
  venue: { name: okx, mode: paper }
  instrument: ETH-USDT-SWAP
  timeframe: 5m
  risk: { maxNotional: 500, maxPositionNotional: 900, maxDailyLoss: 50 }
`;
    const applied = await post('/api/plans/apply', { text, file: 'perm2.yaml' });
    expect(applied.body).toMatchObject({ ok: true, results: [{ name: 'perm2', action: 'created' }] });
    const stored = await (await admin.kv(Buckets.plans)).get('perm2');
    expect(stored?.json()).toMatchObject({ source: expect.stringMatching(/^dashboard:perm@/) });
  });

  it('is refused what it does not declare: an order approval', async () => {
    const approved = {
      plan: 'perm',
      venue: 'okx',
      inst: SWAP,
      side: 'buy' as const,
      size: 1,
      type: 'market' as const,
      reduceOnly: false,
      clientOrderId: 'forged01',
    };
    await expect(
      dashBus.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: SWAP }), approved, { id: 'forged' }),
    ).rejects.toThrow();
  });
});
