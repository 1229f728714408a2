import { resolve } from 'node:path';
import {
  ApprovedOrderContract,
  type Bus,
  type Contract,
  type Envelope,
  type OrderEvent,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  subject,
} from '@kokex/core';
import type { HistoryApplyResult, HistoryCollection, HistoryStore, HistoryWrite, HistoryWriteIssue } from '../src/index.js';
import { type AgentTurnInput, AgentTurnContract, agentTurnMessageId } from '@kokex/core';

export const REPO = resolve(import.meta.dirname, '../../..');
/** The MongoDB store plugin, loaded by path as the host loads it (an actor never imports a plugin). */
export const STORE_MONGO = resolve(REPO, 'plugins/store-mongo');

/**
 * A store with MongoDB's upsert semantics over maps, for actor tests without a MongoDB server:
 * a document is created once per key (`insert` then), and `set` fields are written every time.
 * Registered in a host's adapter registry as the `store` adapter `memory` (`memoryStoreAdapter`).
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly docs = new Map<string, Map<string, Record<string, unknown>>>();
  opened = 0;
  closes = 0;

  async open(): Promise<void> {
    this.opened++;
  }

  async apply(writes: readonly HistoryWrite[]): Promise<HistoryApplyResult> {
    const result: HistoryApplyResult = { inserted: 0, existing: 0 };
    for (const w of writes) {
      const collection = this.docs.get(w.collection) ?? new Map<string, Record<string, unknown>>();
      this.docs.set(w.collection, collection);
      const id = JSON.stringify(w.key);
      const doc = collection.get(id);
      if (doc) result.existing++;
      else result.inserted++;
      const target = doc ?? { ...w.key, ...(w.insert ?? {}) };
      collection.set(id, target);
      for (const [path, value] of Object.entries(w.set ?? {})) setPath(target, path, value);
      for (const [path, value] of Object.entries(w.min ?? {}))
        if (!(path in target) || (value as number) < (target[path] as number)) target[path] = value;
      for (const [path, value] of Object.entries(w.max ?? {}))
        if (!(path in target) || (value as number) > (target[path] as number)) target[path] = value;
    }
    return result;
  }

  count(collection: string): number {
    return this.docs.get(collection)?.size ?? 0;
  }

  all(collection: string): Array<Record<string, unknown>> {
    return [...(this.docs.get(collection)?.values() ?? [])];
  }

  async find(collection: HistoryCollection, where: Record<string, string | number | boolean> = {}) {
    return this.all(collection).filter((d) => Object.entries(where).every(([k, v]) => d[k] === v));
  }

  /** Maps take anything. */
  async check(_writes: readonly HistoryWrite[]): Promise<HistoryWriteIssue[]> {
    return [];
  }

  async close(): Promise<void> {
    this.closes++;
  }

  describe(): string {
    return 'memory';
  }
}

/** The `store` adapter `memory`, always handing out this one store (whatever the config). */
export function memoryStoreAdapter(store: MemoryHistoryStore) {
  return { port: 'store', name: 'memory', create: () => store };
}

/** `$set` with a dotted path, as MongoDB does: missing levels become objects. */
function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = doc;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) as string] = value;
}

export const PLAN = 'hist-demo';
export const INST = 'BTC-USDT-SWAP';
export const T0 = 1_767_225_600_000;

/** A whole agent conversation for one trigger, as the agent records it (10 records). */
export function conversationTurns(conversation: string, clientOrderId = 'abc1'): AgentTurnInput[] {
  const head = (seq: number) => ({ plan: PLAN, conversation, trigger: 'auto_inference' as const, part: 0, seq });
  const forecastResult = '{"forecast":{"inst":"BTC-USDT-SWAP","pUp":0.66,"tradeable":true}}';
  const intentResult = `{"status":"intent_published","clientOrderId":"${clientOrderId}"}`;
  return [
    {
      record: 'started',
      ...head(0),
      provider: 'offline-policy',
      model: 'rules-v1',
      inst: INST,
      tf: '1H',
      tools: ['get_forecast', 'get_positions', 'place_order'],
      limits: { maxTurns: 6, maxToolCalls: 12, maxTokens: 8000, timeoutMs: 120_000 },
      system: 'You trade BTC-USDT-SWAP within the plan limits.',
      input: 'A new forecast arrived.',
      cause: { id: 'f1', type: 'forecast', subject: 'kokex.forecast.BTC-USDT-SWAP.1H' },
    },
    { record: 'message', ...head(1), role: 'user', turn: 0, content: 'A new forecast arrived.' },
    {
      record: 'message',
      ...head(2),
      role: 'assistant',
      turn: 1,
      content: '',
      toolCalls: [{ id: 'call_1', name: 'get_forecast', args: {} }],
    },
    { record: 'tool_call', ...head(3), turn: 1, callId: 'call_1', tool: 'get_forecast', args: {} },
    { record: 'tool_result', ...head(4), turn: 1, callId: 'call_1', tool: 'get_forecast', ok: true, content: forecastResult },
    {
      record: 'message',
      ...head(5),
      role: 'assistant',
      turn: 2,
      content: '',
      toolCalls: [{ id: 'call_2', name: 'place_order', args: { side: 'buy', size: 0.01, why: 'P(up) 0.66' } }],
    },
    {
      record: 'tool_call',
      ...head(6),
      turn: 2,
      callId: 'call_2',
      tool: 'place_order',
      args: { side: 'buy', size: 0.01, why: 'P(up) 0.66' },
    },
    {
      record: 'tool_result',
      ...head(7),
      turn: 2,
      callId: 'call_2',
      tool: 'place_order',
      ok: true,
      content: intentResult,
      intent: { clientOrderId, subject: `kokex.order.intent.${PLAN}.${INST}`, messageId: `intent:${clientOrderId}` },
    },
    {
      record: 'message',
      ...head(8),
      role: 'assistant',
      turn: 3,
      content: 'Order intent buy 0.01 sent.',
      usage: { inputTokens: 0, outputTokens: 0 },
    },
    {
      record: 'ended',
      ...head(9),
      reason: 'answered',
      turns: 3,
      toolCalls: 2,
      tokens: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
      answer: 'Order intent buy 0.01 sent.',
      intents: [clientOrderId],
      durationMs: 12,
    },
  ];
}

/** One order's path: intent, verdict, approval, then accepted, a partial fill and the fill. */
export function orderPath(clientOrderId: string) {
  const order = { plan: PLAN, venue: 'okx', inst: INST, side: 'buy' as const, size: 0.01, type: 'market' as const, clientOrderId };
  const intent = {
    ...order,
    origin: { kind: 'agent' as const, who: 'conversation c1', why: 'P(up) 0.66' },
    basis: { kind: 'forecast' as const, id: 'f1', inst: INST, tf: '1H', asOf: T0 },
    refs: { conversation: 'c1' },
  };
  const verdict = {
    plan: PLAN,
    inst: INST,
    clientOrderId,
    decision: 'approve' as const,
    reason: 'OK',
    rule: 'all',
    message: 'within limits',
    size: 0.01,
  };
  const approved = { ...order, reduceOnly: false };
  const event = (kind: OrderEvent['kind'], filledSize: number, ts: number): OrderEvent => ({
    venue: 'okx',
    inst: INST,
    plan: PLAN,
    clientOrderId,
    venueOrderId: `v-${clientOrderId}`,
    kind,
    side: 'buy',
    type: 'market',
    size: 0.01,
    filledSize,
    ...(kind === 'accepted'
      ? {}
      : { avgPrice: 97_000, fill: { price: 97_000, size: kind === 'filled' ? 0.006 : 0.004, fee: -0.02, tradeId: `t${ts}` } }),
    venueTs: ts,
    receivedAt: ts + 5,
  });
  const events = [event('accepted', 0, T0 + 1000), event('partially_filled', 0.004, T0 + 1100), event('filled', 0.01, T0 + 1200)];
  return { intent, verdict, approved, events };
}

/** Publishes a conversation and an order path; returns the envelopes published. */
export async function publishScenario(bus: Bus, conversation: string, clientOrderId: string): Promise<Array<Envelope<unknown>>> {
  const out: Array<Envelope<unknown>> = [];
  const correlationId = `corr-${clientOrderId}`;
  for (const turn of conversationTurns(conversation, clientOrderId)) {
    const r = await bus.publish(AgentTurnContract, subject('agentTurn', { plan: PLAN }), turn, {
      id: agentTurnMessageId(turn),
      correlationId,
      source: 'agent-test',
      time: T0 + turn.seq * 100,
    });
    out.push(r.envelope);
  }
  const path = orderPath(clientOrderId);
  const orderSubject = { plan: PLAN, venue: 'okx', inst: INST };
  const messages: Array<readonly [Contract<any, any>, string, unknown, string]> = [
    [OrderIntentContract, subject('orderIntent', orderSubject), path.intent, `intent:${clientOrderId}`],
    [OrderVerdictContract, subject('orderVerdict', orderSubject), path.verdict, `verdict:${clientOrderId}`],
    [ApprovedOrderContract, subject('orderApproved', orderSubject), path.approved, `approved:${clientOrderId}`],
    ...path.events.map((e, i) => [OrderEventContract, subject('orderEvent', orderSubject), e, `event:${clientOrderId}:${i}`] as const),
  ];
  for (const [contract, to, data, id] of messages) {
    out.push((await bus.publish(contract, to, data, { id, correlationId, source: 'order-test' })).envelope);
  }
  return out;
}

/** Documents one scenario leaves in each collection. */
export const SCENARIO_DOCUMENTS = {
  conversations: 1,
  messages: 4,
  toolcalls: 2,
  orderintents: 1,
  orderverdicts: 1,
  orders: 1,
  orderevents: 3,
} as const;

/** True for the documents of one scenario (its conversation, or its order). */
export function ofScenario(conversation: string, clientOrderId: string) {
  return (doc: Record<string, unknown>) =>
    doc.conversation === conversation || doc.clientOrderId === clientOrderId || doc.orderId === clientOrderId;
}
