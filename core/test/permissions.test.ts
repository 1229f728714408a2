import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApprovedOrderContract,
  type Bus,
  buildUsers,
  connectBus,
  DurableWorker,
  NatsServerProcess,
  OrderIntentContract,
  renderNatsConfig,
  Streams,
  subject,
} from '../src/index.js';
import { eventually } from '../src/testing/index.js';

/** The order path's access as the guard, executor and agent declare it for a plan on okx. */
const ACTORS = {
  'risk-guard': {
    publish: ['kokex.order.verdict.>', 'kokex.order.approved.okx.>'],
    subscribe: [],
    consume: [{ stream: Streams.orders, durable: 'risk-guard', filter: 'kokex.order.intent.>' }],
    kv: ['kokex-risk'],
    objectStores: [],
  },
  executor: {
    publish: ['kokex.order.event.okx.>'],
    subscribe: [],
    consume: [{ stream: Streams.orders, durable: 'executor', filter: 'kokex.order.approved.okx.>' }],
    kv: [],
    objectStores: [],
  },
  agent: {
    publish: ['kokex.order.intent.>', 'kokex.agent.>'],
    subscribe: ['kokex.agent.token.>'],
    consume: [],
    kv: [],
    objectStores: [],
  },
};

let server: NatsServerProcess;
let dir: string;
const buses: Bus[] = [];
let passwords: Record<string, string>;

async function as(user: string): Promise<Bus> {
  const bus = await connectBus({ url: server.url, user, password: passwords[user], reconnect: false });
  buses.push(bus);
  return bus;
}

const approved = {
  plan: 'demo',
  venue: 'okx',
  inst: 'BTC-USDT-SWAP',
  side: 'buy' as const,
  size: 1,
  type: 'market' as const,
  reduceOnly: false,
  clientOrderId: 'perm0001',
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kokex-perm-'));
  const users = buildUsers({ actors: ACTORS });
  passwords = Object.fromEntries(users.map((u) => [u.user, u.password]));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  const admin = await as('admin');
  await admin.provision();
});

afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('per-actor NATS permissions on a real server', () => {
  it('lets the risk guard publish an approval and refuses the same from the agent', async () => {
    const guard = await as('risk-guard');
    const ack = await guard.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: 'BTC-USDT-SWAP' }), approved, {
      id: 'ok-1',
    });
    expect(ack.stream).toBe(Streams.orders);
    const agent = await as('agent');
    await expect(
      agent.publish(
        ApprovedOrderContract,
        subject('orderApproved', { venue: 'okx', inst: 'BTC-USDT-SWAP' }),
        { ...approved, clientOrderId: 'forged01' },
        { id: 'forged-1' },
      ),
    ).rejects.toThrow(/permission|timeout|no responders/i);
    // The agent's own job, an intent, goes through.
    const intent = await agent.publish(
      OrderIntentContract,
      subject('orderIntent', { plan: 'demo', inst: 'BTC-USDT-SWAP' }),
      { ...approved, origin: { kind: 'agent', who: 'test', why: 'permission test' }, basis: { kind: 'manual' } },
      { id: 'intent-1' },
    );
    expect(intent.stream).toBe(Streams.orders);
  });

  it('lets only the executor read approvals: no consumer and no subscription for anyone else', async () => {
    const agent = await as('agent');
    await expect(
      agent.jsm.consumers.add(Streams.orders, { durable_name: 'executor', filter_subject: 'kokex.order.approved.okx.>' }),
    ).rejects.toThrow(/permission|timeout/i);
    await expect(
      agent.jsm.consumers.add(Streams.orders, { durable_name: 'sneaky', filter_subject: 'kokex.order.approved.>' }),
    ).rejects.toThrow(/permission|timeout/i);
    const sub = agent.nc.subscribe('kokex.order.approved.>');
    const outcome = await Promise.race([
      (async () => {
        try {
          for await (const _ of sub) return 'received';
          return 'closed';
        } catch (err) {
          return `error: ${(err as Error).message}`;
        }
      })(),
      new Promise<string>((r) => setTimeout(() => r('silent'), 2000)),
    ]);
    expect(outcome).toMatch(/permission/i);

    const executor = await as('executor');
    const seen: string[] = [];
    const worker = new DurableWorker(
      executor,
      { stream: Streams.orders, durable: 'executor', filter: 'kokex.order.approved.okx.>', contract: ApprovedOrderContract },
      async (env) => {
        seen.push(env.data.clientOrderId);
      },
    );
    await worker.start();
    await eventually(() => seen.length === 1);
    expect(seen).toEqual(['perm0001']);
    await worker.drain();
  });
});
