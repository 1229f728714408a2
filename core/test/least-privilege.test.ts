import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActorAccess,
  type Bus,
  Buckets,
  buildUsers,
  connectBus,
  NatsServerProcess,
  OrderIntentContract,
  renderNatsConfig,
  Streams,
  subject,
} from '../src/index.js';

/**
 * Least privilege on a real nats-server (issue 12 finding 5): plans and the kill switch are an
 * operator's, heartbeats their own kind's, intents the agent's plans', dead letters the durable's
 * owner's, another kind's durable nobody else's.
 */
const ACTORS: Record<string, ActorAccess> = {
  'risk-guard': {
    publish: ['kokex.order.verdict.*.*', 'kokex.order.approved.okx.*'],
    subscribe: [],
    consume: [{ stream: Streams.orders, durable: 'risk-guard', filter: 'kokex.order.intent.*.*' }],
    kv: [Buckets.risk],
    objectStores: [],
    orderedReads: [{ stream: Streams.orders, filter: 'kokex.order.>' }],
  },
  executor: {
    publish: ['kokex.order.event.okx.*'],
    subscribe: [],
    consume: [{ stream: Streams.orders, durable: 'executor-okx', filter: 'kokex.order.approved.okx.*' }],
    kv: [Buckets.positions],
    kvRead: [Buckets.risk],
    objectStores: [],
  },
  agent: {
    publish: ['kokex.order.intent.alpha.*'],
    subscribe: [],
    consume: [{ stream: Streams.forecasts, durable: 'agent-forecasts', filter: 'kokex.forecast.*.*' }],
    kv: [],
    objectStores: [],
  },
  feed: { publish: ['kokex.md.raw.*.*.*'], subscribe: [], consume: [], kv: [], objectStores: [] },
};

let server: NatsServerProcess;
let dir: string;
const buses: Bus[] = [];
let passwords: Record<string, string>;
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function as(user: string): Promise<Bus> {
  const bus = await connectBus({ url: server.url, user, password: passwords[user], reconnect: false, timeoutMs: 2000 });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kokex-least-'));
  const users = buildUsers({ actors: ACTORS });
  passwords = Object.fromEntries(users.map((u) => [u.user, u.password]));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  const admin = await as('admin');
  await admin.provision();
  await (await admin.kv(Buckets.risk)).put('control.alpha', enc({ state: 'halted', killSwitch: true, at: 1 }));
  await (await admin.kv(Buckets.plans)).put('alpha', enc({ name: 'alpha' }));
});

afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const refused = /permission|timeout/i;

describe('least privilege per actor kind', () => {
  it('lets only an operator write plans; every kind reads them', async () => {
    for (const kind of Object.keys(ACTORS)) {
      const kv = await (await as(kind)).kv(Buckets.plans);
      expect((await kv.get('alpha'))?.json()).toEqual({ name: 'alpha' });
      await expect(kv.put('alpha', enc({ name: 'alpha', maxNotional: 1e308 }))).rejects.toThrow(refused);
    }
    const admin = await as('admin');
    expect((await (await admin.kv(Buckets.plans)).get('alpha'))?.json()).toEqual({ name: 'alpha' });
  }, 60_000);

  it('lets the executor watch the kill switch but not lift it', async () => {
    const kv = await (await as('executor')).kv(Buckets.risk);
    expect((await kv.get('control.alpha'))?.json()).toMatchObject({ killSwitch: true });
    const watch = await kv.watch({ key: 'control.>' });
    for await (const e of watch) {
      expect(e.key).toBe('control.alpha');
      break;
    }
    await expect(kv.put('control.alpha', enc({ state: 'active', killSwitch: false, at: 2 }))).rejects.toThrow(refused);
    await expect(kv.delete('control.alpha')).rejects.toThrow(refused);
    expect((await (await (await as('admin')).kv(Buckets.risk)).get('control.alpha'))?.json()).toMatchObject({ killSwitch: true });
  });

  it('lets a kind write its own heartbeats only', async () => {
    const kv = await (await as('feed')).kv(Buckets.actors);
    await kv.put('feed.feed-0a1b2c3d', enc({ state: 'running' }));
    await expect(kv.put('risk-guard.risk-guard-0a1b2c3d', enc({ state: 'running' }))).rejects.toThrow(refused);
    await expect(kv.put('executor.executor-0a1b2c3d', enc({ state: 'running' }))).rejects.toThrow(refused);
  });

  it("lets the agent send intents for its plans only, and no one else's dead letters", async () => {
    const agent = await as('agent');
    const intent = {
      plan: 'alpha',
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      side: 'buy' as const,
      size: 1,
      type: 'market' as const,
      clientOrderId: 'lp1',
      origin: { kind: 'agent' as const, who: 'a', why: 'b' },
      basis: { kind: 'manual' as const },
    };
    expect(
      (await agent.publish(OrderIntentContract, subject('orderIntent', { plan: 'alpha', inst: 'BTC-USDT-SWAP' }), intent)).stream,
    ).toBe(Streams.orders);
    await expect(
      agent.publish(OrderIntentContract, subject('orderIntent', { plan: 'beta', inst: 'BTC-USDT-SWAP' }), {
        ...intent,
        plan: 'beta',
        clientOrderId: 'lp2',
      }),
    ).rejects.toThrow(refused);
    await expect(agent.js.publish('kokex.dlq.ORDERS.executor-okx', enc({ forged: true }))).rejects.toThrow(refused);
    // Its own durable's dead letters it may store.
    expect((await agent.js.publish('kokex.dlq.FORECASTS.agent-forecasts', enc({ own: true }))).stream).toBe(Streams.deadLetters);
  });

  it("lets the guard read ORDERS in order but never touch the executor's durable or read approvals alone", async () => {
    const admin = await as('admin');
    await admin.jsm.consumers.add(Streams.orders, {
      durable_name: 'executor-okx',
      filter_subject: 'kokex.order.approved.okx.*',
      ack_policy: 'explicit' as never,
    });
    const guard = await as('risk-guard');
    const ordered = await guard.js.consumers.get(Streams.orders, { filter_subjects: 'kokex.order.>' } as never);
    const batch = await ordered.fetch({ max_messages: 1, expires: 1000 });
    for await (const m of batch) expect(m.subject).toMatch(/^kokex\.order\./);
    await ordered.delete();
    await expect(guard.jsm.consumers.info(Streams.orders, 'executor-okx')).rejects.toThrow(refused);
    await expect(guard.jsm.consumers.delete(Streams.orders, 'executor-okx')).rejects.toThrow(refused);
    const stolen = await guard.js.consumers.get(Streams.orders, 'executor-okx').catch((err: Error) => err);
    if (!(stolen instanceof Error)) await expect(stolen.next({ expires: 1000 })).rejects.toThrow(refused);
    await expect(guard.jsm.consumers.add(Streams.orders, { name: 'peek', filter_subject: 'kokex.order.approved.okx.*' })).rejects.toThrow(
      refused,
    );
    expect((await admin.jsm.consumers.info(Streams.orders, 'executor-okx')).name).toBe('executor-okx');
  }, 60_000);
});
