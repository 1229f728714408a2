import type { ApprovedOrder, OrderEvent, VenueOrder, VenueOrderUpdate } from '@kokex/core';

/**
 * Venue facts as `order.event` messages, with message ids that make every fact land once in
 * ORDERS whoever reports it and however often: the REST answer and the pushed `live` are one
 * `accepted`; a fill is keyed by its trade id; a state without a fill by its filled size. Replicas
 * on the same account, reconciliation after a restart and OKX's repeated pushes all collapse.
 */
export type OrderEventKind = OrderEvent['kind'];

const KIND_OF_STATE: Record<VenueOrder['state'], OrderEventKind> = {
  live: 'accepted',
  partially_filled: 'partially_filled',
  filled: 'filled',
  canceled: 'canceled',
  rejected: 'rejected',
};

export function eventKindOf(state: VenueOrder['state']): OrderEventKind {
  return KIND_OF_STATE[state];
}

export function isFinal(kind: OrderEventKind): boolean {
  return kind === 'filled' || kind === 'canceled' || kind === 'rejected';
}

export function eventMessageId(event: OrderEvent): string {
  const base = `${event.venue}:${event.clientOrderId ?? event.venueOrderId ?? '?'}`;
  if (event.fill?.tradeId) return `${base}:fill:${event.fill.tradeId}`;
  if (event.kind === 'partially_filled' || event.kind === 'filled') return `${base}:${event.kind}:${event.filledSize}`;
  return `${base}:${event.kind}`;
}

/** The event for what the venue says about one of our orders (undefined fields are left out on the wire). */
export function eventFromVenue(venue: string, order: ApprovedOrder, update: VenueOrderUpdate): OrderEvent {
  const { inst, venueOrderId, side, type, price, size, filledSize, avgPrice, state, updatedAt } = update.order;
  return {
    venue,
    inst,
    plan: order.plan,
    clientOrderId: order.clientOrderId,
    venueOrderId,
    kind: eventKindOf(state),
    side,
    type,
    price,
    size,
    filledSize,
    avgPrice,
    fill: update.fill,
    reason: update.reason,
    venueTs: Math.max(0, Math.trunc(updatedAt)),
    receivedAt: Math.trunc(update.receivedAt),
  };
}

/** The executor's own verdict on an order it could not place: refused by the venue, halted, given up. */
export function rejectionOf(venue: string, order: ApprovedOrder, reason: string, now: number): OrderEvent {
  const { inst, plan, clientOrderId, side, type, price, size } = order;
  return {
    venue,
    inst,
    plan,
    clientOrderId,
    kind: 'rejected',
    side,
    type,
    price,
    size,
    filledSize: 0,
    reason,
    venueTs: now,
    receivedAt: now,
  };
}
