import {
  AdapterPort,
  type AdapterRegistry,
  type ApprovedOrder,
  type Bus,
  type Clock,
  type ExecutionAdapter,
  isKokexError,
  type Logger,
  type OrderEvent,
  OrderEventContract,
  subject,
  type Subscription,
  type VenueOrder,
  type VenueOrderUpdate,
  Buckets,
} from '@kokex/core';
import { ExecPlaceRetryableError, ExecPublishError, ExecVenueUnavailableError, isRetryable } from './errors.js';
import { eventFromVenue, eventMessageId, isFinal, rejectionOf } from './events.js';
import { type OrderRecord, OrderRecords } from './records.js';

/** What a session needs from the executor around it. */
export interface SessionEnv {
  bus: Bus;
  log: Logger;
  clock: Clock;
  source: string;
  adapters: AdapterRegistry;
  /** Whether the plan's kill switch is thrown or its state is halted right now. */
  stopped(plan: string): boolean;
  maxDeliver(): number;
  reconnectMs(): number;
  /** Called after each order event is stored (the executor's metrics). */
  published?(event: OrderEvent): void;
}

export interface SessionSpec {
  /** The approvals' venue token. */
  venue: string;
  adapterName: string;
  adapterConfig: Record<string, unknown>;
  /** Plans and their instruments trading through this adapter. */
  plans: Map<string, string[]>;
}

const encoder = new TextEncoder();
/** Event ids remembered to skip a repeat publish; older repeats are left to the stream's de-duplication. */
const PUBLISHED_KEPT = 10_000;

/**
 * One execution adapter (one venue account) and the orders the executor works on it. Placement
 * is idempotent by client order id: the record is written before the order is sent, and any
 * repeated delivery asks the venue for the id before sending again. Venue updates become order
 * events one at a time, in arrival order; a reconnect or a start reconciles the records with the
 * venue's open orders.
 */
export class VenueSession {
  readonly records: OrderRecords;
  readonly counters = { placed: 0, duplicates: 0, adopted: 0, rejected: 0, retried: 0, cancels: 0, events: 0, foreign: 0 };
  state: 'connecting' | 'ready' | 'stopped' = 'connecting';
  lastError: string | undefined;
  lastReconcile: { at: number; open: number; resolved: number; foreign: number } | undefined;
  #adapter: ExecutionAdapter | undefined;
  #subscription: Subscription | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #retry: unknown;
  #positionsDue = false;
  /** Ids of the events this session stored lately, oldest first. */
  readonly #published = new Set<string>();

  constructor(
    readonly spec: SessionSpec,
    private readonly env: SessionEnv,
  ) {
    this.records = new OrderRecords(env.bus, spec.venue);
  }

  /** Connects in the background, retrying until it works or the session stops. */
  start(): void {
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.env.clock.clearTimeout(this.#retry);
    await this.#subscription?.close().catch(() => undefined);
    await this.#serial.catch(() => undefined);
  }

  /** Places one approved order (see the class comment); throws only what a redelivery can fix. */
  async place(order: ApprovedOrder, deliveries: number, correlationId: string): Promise<void> {
    const id = order.clientOrderId;
    const known = deliveries > 1 ? await this.records.fetch(id) : this.records.get(id);
    if (known?.state === 'working') return;
    if (this.env.stopped(order.plan))
      return this.#reject(order, correlationId, 'KILL_SWITCH: the plan was halted before the order was placed');
    const adapter = this.#adapter;
    if (!adapter || this.state !== 'ready') throw new ExecVenueUnavailableError(this.spec.venue, this.lastError ?? this.state);
    const record: OrderRecord = known ?? { order, correlationId, state: 'placing', filledSize: 0, updatedAt: this.env.clock.now() };
    try {
      if (!known) await this.records.put(record);
      if (known || deliveries > 1) {
        // This approval may have been sent before (the last executor died placing it): ask first.
        const existing = await adapter.getOrder({ inst: order.inst, clientOrderId: id });
        if (existing) {
          this.counters.adopted++;
          await this.#apply({ order: existing, receivedAt: this.env.clock.now() });
          return;
        }
      }
      const { inst, side, size, type, price, reduceOnly } = order;
      const result = await adapter.placeOrder({ inst, side, size, type, price, reduceOnly, clientOrderId: id });
      if (!result.accepted) return this.#reject(order, correlationId, result.reason ?? 'refused by the venue');
      this.counters[result.duplicate ? 'duplicates' : 'placed']++;
      await this.#apply({
        order: this.#venueView({ ...record, venueOrderId: result.venueOrderId }, 'live'),
        receivedAt: this.env.clock.now(),
      });
      // Halted while the order was on its way: take it back at once.
      if (this.env.stopped(order.plan)) await this.cancelPlan(order.plan);
    } catch (err) {
      if (err instanceof ExecPublishError) throw err;
      if (isRetryable(err) && deliveries < this.env.maxDeliver()) {
        this.counters.retried++;
        throw new ExecPlaceRetryableError(id, err);
      }
      const code = isKokexError(err) ? err.code : 'error';
      this.lastError = `${code}: ${(err as Error)?.message ?? err}`;
      this.env.log.error({ err, clientOrderId: id, deliveries }, 'order not placed; rejecting it');
      await this.#reject(order, correlationId, this.lastError);
    }
  }

  /**
   * An approved cancel (the agent's `cancel_order`, through the guard): asks the venue to cancel the
   * order; the venue's answer arrives as its `canceled` event. Retryable failures are retried.
   */
  async cancel(order: ApprovedOrder, deliveries: number): Promise<void> {
    const adapter = this.#adapter;
    if (!adapter || this.state !== 'ready') throw new ExecVenueUnavailableError(this.spec.venue, this.lastError ?? this.state);
    try {
      await adapter.cancelOrder({ inst: order.inst, clientOrderId: order.clientOrderId });
      this.counters.cancels++;
    } catch (err) {
      if (isRetryable(err) && deliveries < this.env.maxDeliver()) throw new ExecPlaceRetryableError(order.clientOrderId, err);
      this.lastError = `${isKokexError(err) ? err.code : 'error'}: ${(err as Error)?.message ?? err}`;
      this.env.log.error({ err, clientOrderId: order.clientOrderId }, 'cancel not sent');
    }
  }

  /** Asks the venue to cancel every open order of the plan; the cancels arrive as order events. */
  async cancelPlan(plan: string): Promise<number> {
    const adapter = this.#adapter;
    if (!adapter) return 0;
    await this.records.load();
    let asked = 0;
    for (const r of this.records.ofPlan(plan)) {
      try {
        await adapter.cancelOrder({ inst: r.order.inst, clientOrderId: r.order.clientOrderId });
        asked++;
      } catch (err) {
        this.env.log.warn({ err, clientOrderId: r.order.clientOrderId }, 'cancel failed; the next sweep tries again');
      }
    }
    this.counters.cancels += asked;
    return asked;
  }

  /** Brings the records in line with the venue: final states reported, open orders confirmed, positions noted. */
  async reconcile(): Promise<void> {
    const adapter = this.#adapter;
    if (!adapter) return;
    await this.records.load();
    const open = await adapter.openOrders();
    const openById = new Map(open.flatMap((o) => (o.clientOrderId ? [[o.clientOrderId, o] as const] : [])));
    let resolved = 0;
    for (const record of this.records.all()) {
      const id = record.order.clientOrderId;
      const venueOrder = openById.get(id) ?? (await adapter.getOrder({ inst: record.order.inst, clientOrderId: id }));
      if (venueOrder) {
        await this.#apply({ order: venueOrder, receivedAt: this.env.clock.now() });
        if (!openById.has(id)) resolved++;
      } else if (record.state === 'working') {
        // Known to us as working, unknown to the venue now (OKX forgets unfilled cancels after 2 h).
        await this.#apply({
          order: this.#venueView(record, 'canceled'),
          reason: 'no longer known to the venue',
          receivedAt: this.env.clock.now(),
        });
        resolved++;
      }
      // A record still "placing" belongs to an approval not yet acked: its redelivery decides.
    }
    const foreign = open.filter((o) => !o.clientOrderId || !this.records.get(o.clientOrderId)).length;
    this.lastReconcile = { at: this.env.clock.now(), open: open.length - foreign, resolved, foreign };
    await this.#writePositions();
  }

  status(): Record<string, unknown> {
    return {
      venue: this.spec.venue,
      adapter: this.spec.adapterName,
      mode: this.spec.adapterConfig.mode,
      plans: [...this.spec.plans.keys()],
      state: this.state,
      working: this.records.all().length,
      ...this.counters,
      ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async #connect(): Promise<void> {
    if (this.state === 'stopped') return;
    try {
      this.#adapter ??= await this.#resolve();
      this.#subscription ??= await this.#adapter.subscribeOrders({
        onOrder: (update) => void this.#apply(update).catch((err: unknown) => this.env.log.warn({ err }, 'order update not published')),
        // OKX sends no snapshot on the orders channel: after a gap, ask for what changed.
        onResubscribed: () => void this.#reconcileLogged(),
        onError: (err) => {
          this.lastError = String((err as Error)?.message ?? err);
        },
      });
      await this.reconcile();
      this.state = 'ready';
      this.lastError = undefined;
      for (const plan of this.spec.plans.keys()) if (this.env.stopped(plan)) await this.cancelPlan(plan);
      this.env.log.info({ venue: this.spec.venue, adapter: this.spec.adapterName, ...this.lastReconcile }, 'venue reconciled');
    } catch (err) {
      this.lastError = String((err as Error)?.message ?? err);
      this.env.log.warn({ err, venue: this.spec.venue }, 'venue not ready; trying again');
      this.#retry = this.env.clock.setTimeout(() => void this.#connect(), this.env.reconnectMs());
    }
  }

  /**
   * The venue's adapter: `execution:{name}` where a plugin offers one (the paper venue), else the
   * exchange adapter of that name when it trades too (`exchange:okx`, shared with the feed).
   */
  async #resolve(): Promise<ExecutionAdapter> {
    const { adapterName: name, adapterConfig } = this.spec;
    const port = this.env.adapters.has('execution', name) ? 'execution' : AdapterPort.exchange;
    const adapter = await this.env.adapters.resolve<Partial<ExecutionAdapter>>(port, name, adapterConfig);
    if (typeof adapter.placeOrder !== 'function') throw new ExecVenueUnavailableError(this.spec.venue, `${port}:${name} does not trade`);
    return adapter as ExecutionAdapter;
  }

  async #reconcileLogged(): Promise<void> {
    await this.reconcile().catch((err: unknown) => {
      this.lastError = String((err as Error)?.message ?? err);
      this.env.log.warn({ err }, 'reconcile after a reconnect failed');
    });
  }

  /** The order as the venue would show it, from what the executor knows of it. */
  #venueView(r: OrderRecord, state: VenueOrder['state']): VenueOrder {
    const { inst, clientOrderId, side, type, price, size } = r.order;
    return {
      inst,
      clientOrderId,
      venueOrderId: r.venueOrderId ?? '',
      side,
      type,
      price,
      size,
      filledSize: r.filledSize,
      state,
      updatedAt: this.env.clock.now(),
    };
  }

  /** One venue fact, in arrival order: the event stored, then the record updated or dropped. */
  #apply(update: VenueOrderUpdate): Promise<void> {
    const next = this.#serial.then(() => this.#applyNow(update));
    this.#serial = next.catch(() => undefined);
    return next;
  }

  async #applyNow(update: VenueOrderUpdate): Promise<void> {
    const id = update.order.clientOrderId;
    const record = id ? await this.records.fetch(id) : undefined;
    if (!record) {
      this.counters.foreign++;
      return;
    }
    const event = eventFromVenue(this.spec.venue, record.order, update);
    await this.#publish(event, record.correlationId);
    if (isFinal(event.kind)) await this.records.remove(record.order.clientOrderId);
    else if (this.records.get(record.order.clientOrderId)) {
      await this.records.put({
        ...record,
        state: 'working',
        venueOrderId: update.order.venueOrderId,
        filledSize: update.order.filledSize,
        updatedAt: this.env.clock.now(),
      });
    }
    if (update.fill || event.kind === 'filled') this.#positionsSoon();
  }

  async #reject(order: ApprovedOrder, correlationId: string, reason: string): Promise<void> {
    this.counters.rejected++;
    await this.#publish(rejectionOf(this.spec.venue, order, reason, this.env.clock.now()), correlationId);
    await this.records.remove(order.clientOrderId).catch(() => undefined);
  }

  async #publish(event: OrderEvent, correlationId: string): Promise<void> {
    const id = eventMessageId(event);
    // The REST answer and the pushed `live` are one fact: the stream would drop the second copy, but
    // plain subscribers (the CLI, the scheduler) would still see it twice.
    if (this.#published.has(id)) return;
    try {
      await this.env.bus.publish(OrderEventContract, subject('orderEvent', { venue: event.venue, inst: event.inst }), event, {
        id,
        correlationId,
        source: this.env.source,
      });
      this.counters.events++;
      this.env.published?.(event);
      this.#published.add(id);
      if (this.#published.size > PUBLISHED_KEPT) this.#published.delete(this.#published.values().next().value as string);
    } catch (err) {
      throw new ExecPublishError(`publishing the ${event.kind} event of ${event.clientOrderId}`, err);
    }
  }

  /** Positions after fills, at most one lookup in flight (venue position quotas are small). */
  #positionsSoon(): void {
    if (this.#positionsDue) return;
    this.#positionsDue = true;
    this.env.clock.setTimeout(() => {
      this.#positionsDue = false;
      void this.#writePositions().catch((err: unknown) => this.env.log.debug({ err }, 'positions not refreshed'));
    }, 250);
  }

  /** The venue's position per plan and instrument, in `kokex-positions` as `{plan}.{inst}` (for `kokex orders`). */
  async #writePositions(): Promise<void> {
    const adapter = this.#adapter;
    if (!adapter) return;
    const positions = await adapter.positions();
    const kv = await this.env.bus.kv(Buckets.positions);
    const at = this.env.clock.now();
    for (const [plan, instruments] of this.spec.plans) {
      for (const inst of instruments) {
        const p = positions.find((x) => x.inst === inst);
        const value = { inst, size: p?.size ?? 0, avgPrice: p?.avgPrice ?? 0, at };
        await kv.put(`${plan}.${inst}`, encoder.encode(JSON.stringify(value)));
      }
    }
  }
}
