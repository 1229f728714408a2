import {
  AdapterPort,
  AdapterRegistry,
  AgentTurnContract,
  adapterFor,
  agentTurnMessageId,
  agentTurnSchema,
  ApprovedOrderContract,
  HISTORY_KEYS,
  type HistoryStore,
  loadPlugin,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
} from '@kokex/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  HistoryCollection,
  type HistoryWrite,
  orderEventType,
  orderIdOf,
  projectApproved,
  projectIntent,
  projectOrderEvent,
  projectTurn,
  projectVerdict,
  UNKNOWN_PLAN,
} from '../src/index.js';
import { conversationTurns, MemoryHistoryStore, orderPath, SCENARIO_DOCUMENTS, STORE_MONGO } from './support.js';

/** The documents a list of writes leaves, made by the memory store (MongoDB's upsert semantics). */
async function documentsOf(writes: HistoryWrite[]): Promise<Array<{ collection: HistoryCollection; doc: Record<string, unknown> }>> {
  const store = new MemoryHistoryStore();
  await store.apply(writes);
  return [...store.docs.entries()].flatMap(([collection, docs]) =>
    [...docs.values()].map((doc) => ({ collection: collection as HistoryCollection, doc })),
  );
}

function scenarioWrites(): HistoryWrite[] {
  const turns = conversationTurns('c1').map((t) => AgentTurnContract.envelope(t, { id: agentTurnMessageId(t), time: 1 }));
  const path = orderPath('abc1');
  return [
    ...turns.flatMap(projectTurn),
    ...projectIntent(OrderIntentContract.envelope(path.intent, { id: 'i' })),
    ...projectVerdict(OrderVerdictContract.envelope(path.verdict, { id: 'v' })),
    ...projectApproved(ApprovedOrderContract.envelope(path.approved, { id: 'a' })),
    ...path.events.flatMap((e, i) => projectOrderEvent(OrderEventContract.envelope(e, { id: `e${i}` }))),
  ];
}

/**
 * The mongo store as the host gets it: its plugin loaded by path, the adapter resolved from a
 * registry. Creating it does no I/O, so `check` needs no server (the URL is never dialled).
 */
async function mongoStore(): Promise<HistoryStore> {
  const registry = new AdapterRegistry();
  for (const adapter of (await loadPlugin(STORE_MONGO)).definition.adapters ?? []) registry.register(adapter);
  const store = await adapterFor(registry, AdapterPort.store, { name: 'mongo', config: { url: 'mongodb://127.0.0.1:9/never-dialled' } });
  expectTypeOf(store).toEqualTypeOf<HistoryStore>();
  return store;
}

describe('history writes and the store (no server)', () => {
  it('keys every projection write by its collection\'s unique key, in order', () => {
    const writes = scenarioWrites();
    expect(new Set(writes.map((w) => w.collection))).toEqual(new Set(Object.values(HistoryCollection)));
    for (const w of writes) expect(Object.keys(w.key)).toEqual(HISTORY_KEYS[w.collection]);
  });

  it('makes documents the mongo store accepts, every field a schema path and every key its unique index', async () => {
    const counts: Record<string, number> = {};
    for (const { collection } of await documentsOf(scenarioWrites())) counts[collection] = (counts[collection] ?? 0) + 1;
    expect(counts).toEqual(SCENARIO_DOCUMENTS);
    const store = await mongoStore();
    expect(await store.check(scenarioWrites())).toEqual([]);
    // The check can fail: a field outside the schema, a value outside the contract, a wrong key.
    const [intent] = projectIntent(OrderIntentContract.envelope(orderPath('bad1').intent, { id: 'b' }));
    const issues = await store.check([
      { ...intent!, insert: { ...intent!.insert, mood: 'bullish', side: 'sideways' } },
      { collection: HistoryCollection.orders, key: { clientOrderId: 'x', plan: 'p' }, insert: {} },
    ]);
    expect(issues.map((i) => `${i.collection}:${i.field ?? 'key'}`).sort()).toEqual([
      'orderintents:mood',
      'orderintents:side',
      'orders:at',
      'orders:correlationId',
      'orders:inst',
      'orders:key',
      'orders:messageId',
      'orders:side',
      'orders:size',
      'orders:type',
      'orders:venue',
    ]);
  });
});

describe('history projections', () => {
  it('writes creation fields once (insert) and the rest every time (set), with bounds for first start and last end', () => {
    // The mongo store turns `insert` into $setOnInsert, `set` into $set and `max` into $max
    // (plugins/store-mongo, bulkOpsFor).
    const [intentWrite] = projectIntent(OrderIntentContract.envelope(orderPath('x1').intent, { id: 'i', correlationId: 'c', time: 5 }));
    expect(intentWrite).toEqual({
      collection: 'orderintents',
      key: { plan: 'hist-demo', clientOrderId: 'x1' },
      insert: expect.objectContaining({ side: 'buy', size: 0.01, messageId: 'i', correlationId: 'c', at: new Date(5) }),
    });
    const [ended] = projectTurn(AgentTurnContract.envelope(conversationTurns('c9')[9]!, { time: 7 }));
    expect(ended).toEqual({
      collection: 'conversations',
      key: { plan: 'hist-demo', conversation: 'c9' },
      set: expect.objectContaining({
        trigger: 'auto_inference',
        'parts.0.reason': 'answered',
        'parts.0.turns': 3,
        'parts.0.intents': ['abc1'],
      }),
      max: { endedAt: new Date(7), lastPart: 0 },
    });
  });

  it('keys each partial fill by its cumulative size, other events by their kind', () => {
    expect(orderEventType({ kind: 'filled', filledSize: 1 })).toBe('filled');
    expect(orderEventType({ kind: 'partially_filled', filledSize: 0.004 })).toBe('partially_filled:0.004');
    const writes = orderPath('x2').events.flatMap((e) => projectOrderEvent(OrderEventContract.envelope(e)));
    expect(writes.map((w) => w.key.eventType)).toEqual(['accepted', 'partially_filled:0.004', 'filled']);
  });

  it('keys an event without plan or client order id by the venue order id or the message id', () => {
    const { plan: _p, clientOrderId: _c, ...foreign } = orderPath('x3').events[0]!;
    const env = OrderEventContract.envelope(foreign, { id: 'm-1' });
    expect(projectOrderEvent(env)[0]?.key).toEqual({ plan: UNKNOWN_PLAN, orderId: 'venue:v-x3', eventType: 'accepted' });
    const { venueOrderId: _v, ...bare } = foreign;
    expect(orderIdOf(OrderEventContract.envelope(bare, { id: 'm-2' }))).toBe('message:m-2');
  });

  it('records tool calls from the assistant message and completes them from the tool result, in any order', async () => {
    const writes = conversationTurns('c1').flatMap((t) => projectTurn(AgentTurnContract.envelope(t)));
    for (const order of [writes, [...writes].reverse()]) {
      const docs = await documentsOf(order);
      const placeOrder = docs.find((d) => d.collection === 'toolcalls' && d.doc.callId === 'call_2')?.doc;
      expect(placeOrder).toMatchObject({
        name: 'place_order',
        part: 0,
        requestedSeq: 5,
        callSeq: 6,
        resultSeq: 7,
        ok: true,
        intent: { clientOrderId: 'abc1' },
      });
      const conversation = docs.find((d) => d.collection === 'conversations')?.doc;
      expect(conversation).toMatchObject({
        trigger: 'auto_inference',
        lastPart: 0,
        parts: { 0: { provider: 'offline-policy', reason: 'answered', costUsd: 0 } },
      });
    }
  });
});

describe('the agent.turn contract', () => {
  it('accepts the records of a conversation and refuses a conversation id that is no subject token', () => {
    for (const t of conversationTurns('c-1_x')) expect(agentTurnSchema.safeParse(t).success).toBe(true);
    expect(agentTurnSchema.safeParse({ ...conversationTurns('c.1')[0]! }).success).toBe(false);
    expect(agentTurnSchema.safeParse({ ...conversationTurns('c1')[0]!, trigger: 'whim' }).success).toBe(false);
  });
});
