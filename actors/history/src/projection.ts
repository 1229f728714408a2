import {
  type ApprovedOrder,
  type Envelope,
  HistoryCollection,
  type HistoryWrite,
  type OrderEvent,
  type OrderIntent,
  type OrderVerdict,
} from '@kokex/core';
import type { AgentTurn } from '@kokex/core';

// Bus messages as store writes (core's `HistoryWrite`, the store port), without I/O. Every write
// is keyed by its collection's unique key (`HISTORY_KEYS`), creates its document once (`insert`)
// and writes only values the message fixes (`set`), so delivering a message twice, or replaying a
// whole stream, changes nothing; and writes of one document from different messages touch
// different fields, so their order does not matter either.

/** Where a document came from on the bus: kept on every document for the audit trail. */
function busFields(env: Envelope<unknown>) {
  return {
    messageId: env.id,
    correlationId: env.correlationId,
    ...(env.causationId ? { causationId: env.causationId } : {}),
    source: env.source,
    at: new Date(env.time),
  };
}

/** Placeholder plan for an order event without one (an order placed outside KOKEX). */
export const UNKNOWN_PLAN = '-';

/** `{prefix}.{key}` for every field: a part's summary lives under `parts.{n}` of its conversation. */
function under(prefix: string, fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`${prefix}.${k}`, v]),
  );
}

/**
 * A conversation is one document with a summary per part (`parts.{n}`: the prompt, tools, limits,
 * outcome, tokens and cost of one exchange); each message is a document; each tool call is one
 * document that its request and its result both write to.
 */
export function projectTurn(env: Envelope<AgentTurn>): HistoryWrite[] {
  const t = env.data;
  const at = new Date(env.time);
  const conversation = { plan: t.plan, conversation: t.conversation };
  const call = (callId: string) => ({ collection: HistoryCollection.toolCalls, key: { ...conversation, part: t.part, callId } });
  // Started and ended both write the part's summary; only their fields and bounds differ.
  const partSummary = (fields: Record<string, unknown>, bounds: Pick<HistoryWrite, 'min' | 'max'>): HistoryWrite => ({
    collection: HistoryCollection.conversations,
    key: conversation,
    set: { trigger: t.trigger, ...under(`parts.${t.part}`, fields) },
    ...bounds,
  });
  switch (t.record) {
    case 'started':
      return [
        partSummary(
          {
            provider: t.provider,
            model: t.model,
            inst: t.inst,
            tf: t.tf,
            tools: t.tools,
            limits: t.limits,
            system: t.system,
            input: t.input,
            cause: t.cause,
            startedAt: at,
          },
          { min: { startedAt: at }, max: { lastPart: t.part } },
        ),
      ];
    case 'message':
      return [
        {
          collection: HistoryCollection.messages,
          key: { ...conversation, part: t.part, seq: t.seq },
          insert: {
            trigger: t.trigger,
            role: t.role,
            turn: t.turn,
            content: t.content,
            toolCalls: t.toolCalls,
            ...(t.usage ? { usage: t.usage } : {}),
            createdAt: at,
            ...busFields(env),
          },
        },
        ...t.toolCalls.map((c) => ({ ...call(c.id), set: { name: c.name, args: c.args, turn: t.turn, requestedSeq: t.seq } })),
      ];
    case 'tool_call':
      return [{ ...call(t.callId), set: { name: t.tool, args: t.args, turn: t.turn, callSeq: t.seq, requestedAt: at } }];
    case 'tool_result':
      return [
        {
          ...call(t.callId),
          set: {
            name: t.tool,
            turn: t.turn,
            ok: t.ok,
            result: t.content,
            ...(t.error ? { error: t.error } : {}),
            ...(t.intent ? { intent: t.intent } : {}),
            resultSeq: t.seq,
            completedAt: at,
          },
        },
      ];
    case 'ended':
      return [
        partSummary(
          {
            endedAt: at,
            reason: t.reason,
            turns: t.turns,
            toolCalls: t.toolCalls,
            tokens: t.tokens,
            costUsd: t.costUsd,
            answer: t.answer,
            error: t.error,
            intents: t.intents,
            durationMs: t.durationMs,
          },
          { max: { endedAt: at, lastPart: t.part } },
        ),
      ];
  }
}

export function projectIntent(env: Envelope<OrderIntent>): HistoryWrite[] {
  const { plan, clientOrderId, ...intent } = env.data;
  return [{ collection: HistoryCollection.orderIntents, key: { plan, clientOrderId }, insert: { ...intent, ...busFields(env) } }];
}

export function projectVerdict(env: Envelope<OrderVerdict>): HistoryWrite[] {
  const { plan, clientOrderId, ...verdict } = env.data;
  return [{ collection: HistoryCollection.orderVerdicts, key: { plan, clientOrderId }, insert: { ...verdict, ...busFields(env) } }];
}

export function projectApproved(env: Envelope<ApprovedOrder>): HistoryWrite[] {
  const { plan, clientOrderId, ...order } = env.data;
  return [{ collection: HistoryCollection.orders, key: { plan, clientOrderId }, insert: { ...order, ...busFields(env) } }];
}

/**
 * The event type of the unique (plan, order id, event type) index. An order is accepted, filled,
 * canceled or rejected once, but may fill partially many times: each partial fill is keyed by the
 * cumulative filled size it reports (which grows with every fill), so every distinct partial fill
 * is kept and a repeated one is not.
 */
export function orderEventType(event: Pick<OrderEvent, 'kind' | 'filledSize'>): string {
  return event.kind === 'partially_filled' ? `partially_filled:${event.filledSize}` : event.kind;
}

/** The order id of an event: our client order id, else the venue's, else the message's own id. */
export function orderIdOf(env: Envelope<OrderEvent>): string {
  return env.data.clientOrderId ?? (env.data.venueOrderId ? `venue:${env.data.venueOrderId}` : `message:${env.id}`);
}

export function projectOrderEvent(env: Envelope<OrderEvent>): HistoryWrite[] {
  const { plan, clientOrderId, kind, ...event } = env.data;
  return [
    {
      collection: HistoryCollection.orderEvents,
      key: { plan: plan ?? UNKNOWN_PLAN, orderId: orderIdOf(env), eventType: orderEventType(env.data) },
      insert: { kind, ...(clientOrderId ? { clientOrderId } : {}), ...event, venueAt: new Date(event.venueTs), ...busFields(env) },
    },
  ];
}
