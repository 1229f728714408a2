import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  ActorHost,
  AdapterPort,
  AdapterRegistry,
  adapterFor,
  type HistoryStore,
  loadPlugin,
  OrderEventContract,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryCollection } from '../src/index.js';
import { INST, ofScenario, orderPath, publishScenario, SCENARIO_DOCUMENTS, STORE_MONGO } from './support.js';

/**
 * Against a real MongoDB, only when MONGO_URL names one (none can be installed on the CI
 * machines): the actor projects into a throw-away database through the `mongo` store plugin, and
 * a replay inserts nothing. Without MONGO_URL the suite is skipped and says so. (The store's own
 * MongoDB tests, indexes and racing upserts, are in plugins/store-mongo.)
 */
const MONGO_URL = process.env.MONGO_URL?.trim();
if (!MONGO_URL)
  console.warn('[actors/history] MONGO_URL is not set: the MongoDB integration tests are skipped (schemas are tested without a server)');

describe.skipIf(!MONGO_URL)('history actor on MongoDB (needs MONGO_URL)', () => {
  const database = `kokex_test_${randomBytes(4).toString('hex')}`;
  let nats: TestNats;
  let reader: HistoryStore;
  const readers = new AdapterRegistry();

  beforeAll(async () => {
    nats = await startTestNats();
    for (const adapter of (await loadPlugin(STORE_MONGO)).definition.adapters ?? []) readers.register(adapter);
    reader = await adapterFor(readers, AdapterPort.store, { name: 'mongo', config: { url: MONGO_URL, database } });
    await reader.open();
  });
  afterAll(async () => {
    // The throw-away database goes through the mongo store's connection (not part of the port).
    await (reader as unknown as { connection?: { dropDatabase(): Promise<unknown> } } | undefined)?.connection
      ?.dropDatabase()
      .catch(() => undefined);
    await readers.closeAll();
    await nats?.stop();
  });

  const countOf = async (collection: HistoryCollection, conversation: string, order: string) =>
    (await reader.find(collection)).filter(ofScenario(conversation, order)).length;

  const counts = async (conversation: string, order: string) =>
    Object.fromEntries(
      await Promise.all(
        Object.keys(SCENARIO_DOCUMENTS).map(async (c) => [c, await countOf(c as HistoryCollection, conversation, order)] as const),
      ),
    );

  async function startHost(durablePrefix: string) {
    const host = new ActorHost({
      bus: nats.bus,
      log: captureLogger('error').log,
      kinds: ['history'],
      config: { history: { adapters: { mongo: { database } }, durablePrefix } },
      heartbeatMs: 60_000,
    });
    await host.loadPlugin(STORE_MONGO);
    await host.loadPlugin(resolve(import.meta.dirname, '..'));
    await host.start();
    const detail = () => host.instances()[0]?.status().detail as Record<string, any>;
    await eventually(() => host.instances()[0]?.state === 'running' && /^projecting into mongodb/.test(detail()?.status));
    return { host, detail };
  }

  it('projects a conversation and an order path, and a replay from the start inserts nothing', async () => {
    const first = await startHost('mongo-a');
    await publishScenario(nats.bus, 'm-conv', 'mord1');
    await eventually(async () => JSON.stringify(await counts('m-conv', 'mord1')) === JSON.stringify(SCENARIO_DOCUMENTS), 20_000);
    const { events } = orderPath('mord1');
    await nats.bus.publish(OrderEventContract, subject('orderEvent', { venue: 'okx', inst: INST }), events[1]!, { id: 'mongo:again' });
    await eventually(() => first.detail().projected.orderEvents >= 4);
    expect(await counts('m-conv', 'mord1')).toEqual(SCENARIO_DOCUMENTS);
    const [conversation] = await reader.find(HistoryCollection.conversations, { conversation: 'm-conv' });
    expect(conversation).toMatchObject({ trigger: 'auto_inference', lastPart: 0, parts: { 0: { reason: 'answered', costUsd: 0 } } });
    await first.host.stop();

    const replay = await startHost('mongo-b');
    await eventually(() => replay.detail().projected.orderEvents >= 4, 20_000);
    await eventually(() => replay.detail().projected.turns >= 10, 20_000);
    expect(replay.detail().documents.inserted).toBe(0);
    expect(await counts('m-conv', 'mord1')).toEqual(SCENARIO_DOCUMENTS);
    await replay.host.stop();
  });
});
