import { resolve } from 'node:path';
import { ActorHost, OrderEventContract, Streams, subject } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idleStatusLine } from '../src/index.js';
import {
  INST,
  MemoryHistoryStore,
  memoryStoreAdapter,
  ofScenario,
  orderPath,
  publishScenario,
  SCENARIO_DOCUMENTS,
  STORE_MONGO,
} from './support.js';

const PLUGIN = resolve(import.meta.dirname, '..');
const MONGO_ENV = 'KOKEX_TEST_HISTORY_MONGO_URL';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

async function startHost(options: { store?: MemoryHistoryStore; durablePrefix: string }) {
  const logger = captureLogger('info');
  const host = new ActorHost({
    bus: nats.bus,
    log: logger.log,
    kinds: ['history'],
    // A memory store needs no URL; otherwise the mongo store, its URL from MONGO_ENV.
    config: {
      history: { store: options.store ? { adapter: 'memory', urlEnv: null } : { urlEnv: MONGO_ENV }, durablePrefix: options.durablePrefix },
    },
    heartbeatMs: 60_000,
  });
  if (options.store) host.adapters.register(memoryStoreAdapter(options.store));
  await host.loadPlugin(STORE_MONGO);
  await host.loadPlugin(PLUGIN);
  await host.start();
  const instance = () => host.instances().find((i) => i.kind === 'history');
  await eventually(() => instance()?.state === 'running');
  return { host, logger, detail: () => instance()?.status().detail as Record<string, any> };
}

async function historyDurables(prefix: string): Promise<string[]> {
  const names: string[] = [];
  for (const stream of [Streams.agent, Streams.orders]) {
    for await (const c of nats.bus.jsm.consumers.list(stream)) if (c.name.startsWith(`${prefix}-`)) names.push(c.name);
  }
  return names.sort();
}

describe('history actor', () => {
  it('starts idle with a status line that says why when MONGO_URL is unset, and consumes nothing', async () => {
    delete process.env[MONGO_ENV];
    const { host, logger, detail } = await startHost({ durablePrefix: 'hist-idle' });
    expect(detail()).toMatchObject({ idle: true, status: idleStatusLine(MONGO_ENV) });
    expect(detail().status).toContain(`${MONGO_ENV} is not set`);
    await publishScenario(nats.bus, 'idle-1', 'idle1');
    await new Promise((r) => setTimeout(r, 300));
    expect(await historyDurables('hist-idle')).toEqual([]);
    expect(detail().projected).toEqual({ turns: 0, intents: 0, verdicts: 0, approved: 0, orderEvents: 0 });
    logger.log.flush();
    await eventually(() => logger.lines().some((l) => l.includes(`history: idle: ${MONGO_ENV} is not set`)));
    await host.stop();
  });

  it('fails to start with a coded error from the mongo store when the URL is not a MongoDB URL', async () => {
    process.env[MONGO_ENV] = 'postgres://localhost/x';
    try {
      const logger = captureLogger('error');
      const host = new ActorHost({
        bus: nats.bus,
        log: logger.log,
        kinds: ['history'],
        config: { history: { store: { urlEnv: MONGO_ENV }, durablePrefix: 'hist-badurl' } },
        lifecycle: { maxRestarts: 0 },
      });
      await host.loadPlugin(STORE_MONGO);
      await host.loadPlugin(PLUGIN);
      await host.start();
      // The code moved with the check, from the actor to the store plugin (was HISTORY_MONGO_URL).
      await eventually(() => host.instances()[0]?.status().lastError?.code === 'STORE_MONGO_URL');
      await host.stop();
    } finally {
      delete process.env[MONGO_ENV];
    }
  });

  it('projects a conversation and an order path once, and a full replay adds nothing', async () => {
    const store = new MemoryHistoryStore();
    const first = await startHost({ store, durablePrefix: 'hist-mem' });
    await publishScenario(nats.bus, 'conv-1', 'ord1');
    // The streams also hold the idle test's scenario: count only this one's documents.
    const counts = () =>
      Object.fromEntries(Object.keys(SCENARIO_DOCUMENTS).map((c) => [c, store.all(c).filter(ofScenario('conv-1', 'ord1')).length]));
    await eventually(() => JSON.stringify(counts()) === JSON.stringify(SCENARIO_DOCUMENTS));
    expect(await historyDurables('hist-mem')).toEqual([
      'hist-mem-approved',
      'hist-mem-intents',
      'hist-mem-order-events',
      'hist-mem-turns',
      'hist-mem-verdicts',
    ]);
    const conversation = store.all('conversations').find((d) => d.conversation === 'conv-1');
    expect(conversation).toMatchObject({ plan: 'hist-demo', trigger: 'auto_inference', parts: { 0: { reason: 'answered', turns: 3 } } });
    const fill = store.all('orderevents').find((d) => d.eventType === 'filled' && d.orderId === 'ord1');
    expect(fill).toMatchObject({ orderId: 'ord1', kind: 'filled', correlationId: 'corr-ord1', fill: { size: 0.006 } });
    await eventually(() => first.detail().documents.inserted === 2 * 13);
    // The venue reports the fill a second time (a new message id): the unique key keeps one.
    const { events } = orderPath('ord1');
    await nats.bus.publish(OrderEventContract, subject('orderEvent', { venue: 'okx', inst: INST }), events[2]!, { id: 'event:ord1:again' });
    await eventually(() => first.detail().projected.orderEvents === 7);
    expect(counts()).toEqual(SCENARIO_DOCUMENTS);
    expect(first.detail().status).toBe('projecting into memory');
    expect(store.opened).toBe(1);
    await first.host.stop();
    // The store belongs to the host's adapter registry: the host closes it once with its adapters,
    // the actor's stop does not close it a second time (a reloaded instance may share it).
    expect(store.closes).toBe(1);

    // Replay everything from the start: new durables, the same store.
    const before = JSON.stringify([...store.docs.entries()].map(([c, m]) => [c, [...m.entries()]]));
    const replay = await startHost({ store, durablePrefix: 'hist-replay' });
    const inStreams =
      (await nats.bus.jsm.streams.info(Streams.agent)).state.messages + (await nats.bus.jsm.streams.info(Streams.orders)).state.messages;
    await eventually(() => {
      const p = replay.detail().projected as Record<string, number>;
      return Object.values(p).reduce((a, b) => a + b, 0) >= inStreams;
    });
    expect(replay.detail().documents.inserted).toBe(0);
    expect(JSON.stringify([...store.docs.entries()].map(([c, m]) => [c, [...m.entries()]]))).toBe(before);
    await replay.host.stop();
  });
});
