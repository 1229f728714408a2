import { type ApprovedOrder, Buckets, type Bus } from '@kokex/core';

/**
 * The executor's own note of every order it is working, in the `kokex-positions` bucket under
 * `orders.{venue}.{clientOrderId}`: written before the order is sent (so a restart knows an order
 * may be at the venue), updated as the venue reports, deleted when the order is final. It is how a
 * restarted executor knows which plan an open order belongs to and which orders to look up.
 */
export interface OrderRecord {
  order: ApprovedOrder;
  /** The approval's correlation id, carried by every event of the order. */
  correlationId: string;
  /** placing: sent or about to be; working: the venue has it. */
  state: 'placing' | 'working';
  venueOrderId?: string;
  filledSize: number;
  updatedAt: number;
}

const ORDERS_PREFIX = 'orders';
const encoder = new TextEncoder();

export function recordKey(venue: string, clientOrderId: string): string {
  return `${ORDERS_PREFIX}.${venue}.${clientOrderId}`;
}

export class OrderRecords {
  readonly #byId = new Map<string, OrderRecord>();

  constructor(
    private readonly bus: Bus,
    readonly venue: string,
  ) {}

  get(clientOrderId: string): OrderRecord | undefined {
    return this.#byId.get(clientOrderId);
  }

  all(): OrderRecord[] {
    return [...this.#byId.values()];
  }

  ofPlan(plan: string): OrderRecord[] {
    return this.all().filter((r) => r.order.plan === plan);
  }

  /** Every record this venue has in the bucket (another replica's too). */
  async load(): Promise<void> {
    for (const entry of await this.bus.kvEntries(Buckets.positions, `${ORDERS_PREFIX}.${this.venue}.>`)) {
      const record = entry.json<OrderRecord>();
      this.#byId.set(record.order.clientOrderId, record);
    }
  }

  /** The record of another replica's order, read on demand when its update arrives here. */
  async fetch(clientOrderId: string): Promise<OrderRecord | undefined> {
    const known = this.#byId.get(clientOrderId);
    if (known) return known;
    const entry = await (await this.bus.kv(Buckets.positions)).get(recordKey(this.venue, clientOrderId));
    if (entry?.operation !== 'PUT' || entry.length === 0) return undefined;
    const record = entry.json<OrderRecord>();
    this.#byId.set(clientOrderId, record);
    return record;
  }

  async put(record: OrderRecord): Promise<void> {
    this.#byId.set(record.order.clientOrderId, record);
    await (await this.bus.kv(Buckets.positions)).put(
      recordKey(this.venue, record.order.clientOrderId),
      encoder.encode(JSON.stringify(record)),
    );
  }

  async remove(clientOrderId: string): Promise<void> {
    this.#byId.delete(clientOrderId);
    await (await this.bus.kv(Buckets.positions)).delete(recordKey(this.venue, clientOrderId));
  }
}
