import { createHash } from 'node:crypto';
import { type Bus, type CancelRequest, CancelRequestContract, type OrderIntent, OrderIntentContract, subject } from '@kokex/core';
import { AgentPublishError } from './errors.js';

/**
 * Order tools publish intents; they never call a venue. The client order id is derived from the
 * conversation and the order's number within it, so a conversation re-run after a redelivery
 * publishes the same ids (and the same message ids, which JetStream drops within ORDERS'
 * de-duplication window) instead of a second order.
 *
 * A cancel is not an intent: `cancel_order` publishes an `order.cancel` request (the plan, the
 * client order id to cancel, who and why, the basis) on `kokex.order.cancel.{plan}.{inst}`, under
 * a cancel id of its own derived the same way. The guard checks only that the order is the plan's
 * and live; the executor cancels what the guard approves.
 */
export function agentClientOrderId(conversation: string, orderNumber: number): string {
  return `ag${createHash('sha256').update(`${conversation}#${orderNumber}`).digest('hex').slice(0, 30)}`;
}

export function intentMessageId(clientOrderId: string): string {
  return `intent:${clientOrderId}`;
}

export function cancelMessageId(cancelId: string): string {
  return `cancelrequest:${cancelId}`;
}

export interface IntentMeta {
  correlationId: string;
  causationId: string;
  source: string;
  /** Market time the intent speaks for: the conversation's (its trigger's `eventTime`). */
  eventTime: number;
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
    };
  } catch (err) {
    throw new AgentPublishError(`intent ${intent.clientOrderId} on ${to}`, err);
  }
}

/** Publishes a cancel request; `clientOrderId` of the answer is the request's cancel id, `cancels` the order's. */
export async function publishCancel(bus: Bus, request: CancelRequest, meta: IntentMeta): Promise<PublishedIntent> {
  const to = subject('orderCancel', { plan: request.plan, inst: request.inst });
  const messageId = cancelMessageId(request.cancelId);
  try {
    const ack = await bus.publish(CancelRequestContract, to, request, { id: messageId, ...meta });
    return { clientOrderId: request.cancelId, subject: to, messageId, duplicate: ack.duplicate, cancels: request.clientOrderId };
  } catch (err) {
    throw new AgentPublishError(`cancel ${request.cancelId} of ${request.clientOrderId} on ${to}`, err);
  }
}
