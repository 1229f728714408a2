import { createHash } from 'node:crypto';
import { type Bus, type OrderIntent, OrderIntentContract, subject } from '@kokex/core';
import { AgentPublishError } from './errors.js';

/**
 * Order tools publish intents; they never call a venue. The client order id is derived from the
 * conversation and the order's number within it, so a conversation re-run after a redelivery
 * publishes the same ids (and the same message ids, which JetStream drops within ORDERS'
 * de-duplication window) instead of a second order.
 *
 * A cancel is an intent too: the order fields of the order to cancel (side, remaining size, type,
 * price), `reduceOnly: true`, and `refs.cancel` = the client order id to cancel (`refs.action` =
 * `cancel`). The risk guard decides on it like any intent; the executor cancels rather than places.
 */
export function agentClientOrderId(conversation: string, orderNumber: number): string {
  return `ag${createHash('sha256').update(`${conversation}#${orderNumber}`).digest('hex').slice(0, 30)}`;
}

export function intentMessageId(clientOrderId: string): string {
  return `intent:${clientOrderId}`;
}

export interface IntentMeta {
  correlationId: string;
  causationId: string;
  source: string;
  time: number;
}

export interface PublishedIntent {
  clientOrderId: string;
  subject: string;
  messageId: string;
  duplicate: boolean;
  cancels?: string;
}

export async function publishIntent(bus: Bus, intent: OrderIntent, meta: IntentMeta): Promise<PublishedIntent> {
  const to = subject('orderIntent', { plan: intent.plan, inst: intent.inst });
  const messageId = intentMessageId(intent.clientOrderId);
  try {
    const ack = await bus.publish(OrderIntentContract, to, intent, { id: messageId, ...meta });
    return {
      clientOrderId: intent.clientOrderId,
      subject: to,
      messageId,
      duplicate: ack.duplicate,
      ...(intent.refs.cancel ? { cancels: intent.refs.cancel } : {}),
    };
  } catch (err) {
    throw new AgentPublishError(`intent ${intent.clientOrderId} on ${to}`, err);
  }
}
