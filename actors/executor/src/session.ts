import {
  AdapterPort,
  type AdapterRegistry,
  type AdapterTarget,
  adapterFor,
  type ApprovedCancel,
  type ApprovedOrder,
  type Bus,
  Buckets,
  type Clock,
  type ExecutionAdapter,
  isKokexError,
  type Logger,
  type OrderEvent,
  OrderEventContract,
  type Position,
  type Reconcile,
  type ReconcileDifference,
  subject,
  type Subscription,
  type VenueOrder,
  type VenueOrderUpdate,
} from '@kokex/core';
import { type Actor, createActor } from 'xstate';
import {
  ExecNoExecutionAdapterError,
  ExecPlaceRetryableError,
  ExecPublishError,
  ExecVenueUnavailableError,
  isRetryable,
} from './errors.js';
import { eventFromVenue, eventMessageId, isFinal, rejectionOf } from './events.js';
import { canTrade, type SessionEvent, type SessionState, venueSessionMachine } from './machine.js';
import { OrdersView, publishReconcile, reconcileOf, round } from './reconcile.js';
import { type OrderRecord, OrderRecords } from './records.js';

/** What a session needs from the executor around it. */
export interface SessionEnv {
  bus: Bus;
  log: Logger;
  clock: Clock;
  source: string;
  adapters: AdapterRegistry;
  /** The executor's per-adapter settings (`{okx: {simPort: 18080}}`), under what the plan derives. */
  settings: () => Record<string, Record<string, unknown> | undefined>;
  /** Whether the plan's kill switch is thrown or its state is halted right now. */
  stopped(plan: string): boolean;
  maxDeliver(): number;
  reconnectMs(): number;
  /** Called after each order event is stored (the executor's metrics). */
  published?(event: OrderEvent): void;
  /** Called after each reconciliation is stored (the executor's metrics). */
  reconciled?(reconcile: Reconcile): void;
}

export interface SessionSpec {
  /** The approvals' venue token. */
  venue: string;
  /** The execution adapter and what the plan derives for it (name, mode, config). */
  target: AdapterTarget;
  /** Plans and their instruments trading through this adapter. */
  plans: Map<string, string[]>;
}

const encoder = new TextEncoder();
/** Event ids remembered to skip a repeat publish; older repeats are left to the stream's de-duplication. */
const PUBLISHED_KEPT = 10_000;
/** Looks at the venue's positions per reconciliation before an instrument whose position keeps moving is deferred. */
const RECONCILE_ATTEMPTS = 5;
/** Wait before the next look, times the attempt number (wall time: an infrastructure retry). */
const RECONCILE_RETRY_MS = 150;
const sizeOf = (positions: Position[], inst: string) => round(positions.find((p) => p.inst === inst)?.size ?? 0);

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
  lastReconcile: { at: number; open: number; resolved: number; foreign: number; differences: number; deferred: number } | undefined;
  /** What ORDERS says the plans hold, compared with the venue at each reconciliation. */
  readonly view: OrdersView;
  /** One id per session: reconciliations are `{source}:{session}:{n}`. */
  readonly #session = Math.random().toString(36).slice(2, 10);
  #runs = 0;
  #adapter: ExecutionAdapter | undefined;
  #subscription: Subscription | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #positionsDue = false;
  /** Ids of the events this session stored lately, oldest first. */
  readonly #published = new Set<string>();
  /**
   * Market time of each working order's approval (its envelope `eventTime`): what the order's events
   * speak for where the venue gives no timestamp of its own (a refusal, the executor's view of a
   * placement, a cancel the venue forgot). Lost on a restart; the venue's own times cover the rest.
   */
  readonly #approvedAt = new Map<string, number>();
  /** The session's state (machine.ts); its effects are this class's methods. */
  readonly #machine: Actor<typeof venueSessionMachine>;

  constructor(
    readonly spec: SessionSpec,
    private readonly env: SessionEnv,
  ) {
    this.records = new OrderRecords(env.bus, spec.venue);
    this.view = new OrdersView(env.bus, spec.venue, () => this.#keys());
    const machine = venueSessionMachine.provide({
      actions: {
        connect: () => void this.#connect(),
        reconcile: () => void this.#reconcileThen(),
        resync: () => void this.#reconcileThen(),
        noteReady: () => void this.#onReady(),
      },
    });
    this.#machine = createActor(machine, { input: { retryMs: env.reconnectMs() }, clock: env.clock });
  }

  /** connecting, reconciling, ready, resyncing, reconnecting or stopped (machine.ts). */
  get state(): SessionState {
    return this.#machine.getSnapshot().value as SessionState;
  }

  get lastError(): string | undefined {
    return this.#machine.getSnapshot().context.lastError;
  }

  /** Connects in the background, retrying every `reconnectMs` until it works or the session stops. */
  start(): void {
    this.#machine.start();
  }

  async stop(): Promise<void> {
    this.#send({ type: 'STOP' });
    this.#machine.stop();
    await this.#subscription?.close().catch(() => undefined);
    await this.#serial.catch(() => undefined);
  }

  #send(event: SessionEvent): void {
    if (this.state !== 'stopped') this.#machine.send(event);
  }

  #noteError(err: unknown): string {
    const text = `${isKokexError(err) ? err.code : 'error'}: ${(err as Error)?.message ?? err}`;
    this.#send({ type: 'ERROR', error: text });
    return text;
  }

  /** The adapter, when the session may trade on it now; else the retryable error that naks the approval. */
  #tradingAdapter(): ExecutionAdapter {
    const adapter = this.#adapter;
    if (!adapter || !canTrade(this.state)) throw new ExecVenueUnavailableError(this.spec.venue, this.lastError ?? this.state);
    return adapter;
  }

  /**
   * Places one approved order (see the class comment); throws only what a redelivery can fix.
   * `eventTime` is the approval's market time.
   */
  async place(order: ApprovedOrder, deliveries: number, correlationId: string, eventTime?: number): Promise<void> {
    const id = order.clientOrderId;
    if (eventTime !== undefined) this.#approvedAt.set(id, eventTime);
    const known = deliveries > 1 ? await this.records.fetch(id) : this.records.get(id);
    if (known?.state === 'working') return;
    if (this.env.stopped(order.plan))
      return this.#reject(order, correlationId, 'KILL_SWITCH: the plan was halted before the order was placed');
    const adapter = this.#tradingAdapter();
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
      await this.#apply(
        { order: this.#venueView({ ...record, venueOrderId: result.venueOrderId }, 'live'), receivedAt: this.env.clock.now() },
        this.#approvedAt.get(id),
      );
      // Halted while the order was on its way: take it back at once.
      if (this.env.stopped(order.plan)) await this.cancelPlan(order.plan);
    } catch (err) {
      if (err instanceof ExecPublishError) throw err;
      if (isRetryable(err) && deliveries < this.env.maxDeliver()) {
        this.counters.retried++;
        throw new ExecPlaceRetryableError(id, err);
      }
      const reason = this.#noteError(err);
      this.env.log.error({ err, clientOrderId: id, deliveries }, 'order not placed; rejecting it');
      await this.#reject(order, correlationId, reason);
    }
  }

  /**
   * An approved cancel (`order.cancel.approved`, from the guard): asks the venue to cancel the
   * order; the venue's answer arrives as its `canceled` event. Retryable failures are retried; an
   * order the venue no longer knows (already final) is left to its final event.
   */
  async cancel(approved: ApprovedCancel, deliveries: number): Promise<void> {
    const adapter = this.#tradingAdapter();
    try {
      await adapter.cancelOrder({ inst: approved.inst, clientOrderId: approved.clientOrderId });
      this.counters.cancels++;
    } catch (err) {
      if (isRetryable(err) && deliveries < this.env.maxDeliver()) throw new ExecPlaceRetryableError(approved.clientOrderId, err);
      this.#noteError(err);
      this.env.log.error({ err, clientOrderId: approved.clientOrderId, cancelId: approved.cancelId }, 'cancel not sent');
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

  /**
   * Brings the records in line with the venue: final states reported, open orders confirmed, and
   * per plan and instrument the venue's position compared with what ORDERS adds up to.
   *
   * Why the positions are read twice: a fill can land at the venue between the look at its
   * positions and the read of ORDERS, and its event be stored before that read; the books then
   * count a fill the positions do not show, and the reconciliation would report a difference that
   * is not there and rebase the books on the stale size. So the positions are read before the
   * records are swept and again at the comparison, and the comparison runs in the order-update
   * queue (no event is stored between the read of ORDERS and the reconciliation). An instrument
   * whose position moved between the two reads is compared again on the next attempt; one that
   * keeps moving is left for the next run (`deferred`), and a first run that cannot settle fails
   * and is retried, so the guard never trades on books rebased on a stale position.
   */
  async reconcile(): Promise<void> {
    const adapter = this.#adapter;
    if (!adapter) return;
    const first = this.#runs === 0;
    const run = `${this.env.source}:${this.#session}:${++this.#runs}`;
    await this.records.load();
    const plansOf = new Map<string, number>();
    for (const [, inst] of this.#keys()) plansOf.set(inst, (plansOf.get(inst) ?? 0) + 1);
    const found = new Map<string, ReconcileDifference[]>();
    let pending = this.#keys();
    let open: VenueOrder[] = [];
    let positions: Position[] = [];
    let resolved = 0;
    let differences = 0;
    for (let attempt = 1; attempt <= RECONCILE_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 1) await new Promise<void>((done) => this.env.clock.setTimeout(done, RECONCILE_RETRY_MS * (attempt - 1)));
      const before = await adapter.positions();
      const sweep = await this.#sweep(adapter, found);
      open = sweep.open;
      resolved += sweep.resolved;
      const settled = await this.#inOrder(async () => {
        const [now, balances] = await Promise.all([adapter.positions(), adapter.balances()]);
        positions = now;
        // Every event the sweep stored is in ORDERS now, and none can follow until this returns.
        await this.view.catchUp();
        const truth = { positions: now, open, balances, known: (id: string) => this.records.get(id) !== undefined };
        const steady = pending.filter(([, inst]) => sizeOf(before, inst) === sizeOf(now, inst));
        for (const [plan, inst] of steady) {
          const data = reconcileOf({
            plan,
            venue: this.spec.venue,
            inst,
            run,
            truth,
            booked: this.view.booked(plan, inst),
            found: found.get(`${plan}|${inst}`) ?? [],
            shared: (plansOf.get(inst) ?? 0) > 1,
          });
          const { seq, reconcile } = await publishReconcile(this.env.bus, data, this.env.source);
          this.view.rebase(plan, inst, seq, reconcile.position?.size ?? 0);
          differences += reconcile.differences.length;
          this.env.reconciled?.(reconcile);
        }
        return new Set(steady.map(([plan, inst]) => `${plan}|${inst}`));
      });
      pending = pending.filter(([plan, inst]) => !settled.has(`${plan}|${inst}`));
    }
    const foreign = open.filter((o) => !o.clientOrderId || !this.records.get(o.clientOrderId)).length;
    this.lastReconcile = {
      at: this.env.clock.now(),
      open: open.length - foreign,
      resolved,
      foreign,
      differences,
      deferred: pending.length,
    };
    await this.#writePositions(positions);
    if (pending.length > 0) {
      const which = pending.map(([plan, inst]) => `${plan} ${inst}`).join(', ');
      this.env.log.warn({ venue: this.spec.venue, deferred: which }, 'positions kept moving while reconciling; compared on the next run');
      if (first) throw new Error(`the venue's positions of ${which} kept changing over ${RECONCILE_ATTEMPTS} looks; reconciling again`);
    }
  }

  /**
   * The sweep of one reconciliation attempt: the venue's open orders, and each record brought in
   * line with the venue (its fills and final state stored); differences it finds go into `found`.
   */
  async #sweep(adapter: ExecutionAdapter, found: Map<string, ReconcileDifference[]>): Promise<{ open: VenueOrder[]; resolved: number }> {
    const open = await adapter.openOrders();
    const openById = new Map(open.flatMap((o) => (o.clientOrderId ? [[o.clientOrderId, o] as const] : [])));
    const note = (record: OrderRecord, d: ReconcileDifference) => {
      const k = `${record.order.plan}|${record.order.inst}`;
      found.set(k, [...(found.get(k) ?? []), d]);
    };
    let resolved = 0;
    for (const record of this.records.all()) {
      const id = record.order.clientOrderId;
      const venueOrder = openById.get(id) ?? (await adapter.getOrder({ inst: record.order.inst, clientOrderId: id }));
      if (venueOrder) {
        if (venueOrder.filledSize > record.filledSize + 1e-12) {
          note(record, {
            kind: 'order_fill',
            clientOrderId: id,
            venue: venueOrder.filledSize,
            book: record.filledSize,
            message: `the venue filled ${venueOrder.filledSize} of ${id}, ORDERS had ${record.filledSize}: the fill is reported`,
          });
        }
        await this.#apply({ order: venueOrder, receivedAt: this.env.clock.now() });
        if (!openById.has(id)) resolved++;
      } else if (record.state === 'working') {
        note(record, {
          kind: 'order_missing',
          clientOrderId: id,
          venue: 0,
          book: record.order.size - record.filledSize,
          message: `${id} is working in ORDERS and unknown to the venue: reported canceled`,
        });
        // Known to us as working, unknown to the venue now (OKX forgets unfilled cancels after 2 h).
        await this.#apply(
          { order: this.#venueView(record, 'canceled'), reason: 'no longer known to the venue', receivedAt: this.env.clock.now() },
          this.#approvedAt.get(id),
        );
        resolved++;
      }
      // A record still "placing" belongs to an approval not yet acked: its redelivery decides.
    }
    return { open, resolved };
  }

  /**
   * Says, before the first reconciliation, that the plans of this session are being reconciled
   * (`status: reconciling`): the guard denies them new risk until a `reconciled` one follows.
   */
  async announce(status: 'reconciling' | 'failed' = 'reconciling', error?: string): Promise<void> {
    const run = `${this.env.source}:${this.#session}:${status === 'reconciling' ? 0 : Math.max(this.#runs, 1)}`;
    await this.view.load();
    for (const [plan, inst] of this.#keys()) {
      const since = this.view.baseSeq(plan, inst);
      const data = {
        plan,
        venue: this.spec.venue,
        inst,
        status,
        run,
        ...(error ? { error: error.slice(0, 500) } : {}),
        ...(since ? { since } : {}),
      };
      this.env.reconciled?.((await publishReconcile(this.env.bus, data, this.env.source)).reconcile);
    }
  }

  /** Asks for a reconciliation beside trading (the periodic one): ignored unless the session is ready. */
  reconcileSoon(): void {
    if (this.state === 'ready') this.#send({ type: 'RECONCILE' });
  }

  /** The plans and instruments of this session. */
  #keys(): Array<[string, string]> {
    return [...this.spec.plans].flatMap(([plan, insts]) => insts.map((inst) => [plan, inst] as [string, string]));
  }

  status(): Record<string, unknown> {
    return {
      venue: this.spec.venue,
      adapter: this.spec.target.name,
      mode: this.spec.target.mode,
      plans: [...this.spec.plans.keys()],
      state: this.state,
      working: this.records.all().length,
      ...this.counters,
      ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** The machine's `connect`: the adapter and its order stream, then CONNECTED (or FAILED). */
  async #connect(): Promise<void> {
    try {
      this.#adapter ??= await this.#resolve();
      this.#subscription ??= await this.#adapter.subscribeOrders({
        onOrder: (update) => void this.#apply(update).catch((err: unknown) => this.env.log.warn({ err }, 'order update not published')),
        // OKX sends no snapshot on the orders channel: after a gap, ask for what changed.
        onResubscribed: () => this.#send({ type: 'RESUBSCRIBED' }),
        onError: (err) => this.#send({ type: 'ERROR', error: String((err as Error)?.message ?? err) }),
      });
      this.#send({ type: 'CONNECTED' });
    } catch (err) {
      this.env.log.warn({ err, venue: this.spec.venue }, 'venue not ready; trying again');
      this.#send({ type: 'FAILED', error: String((err as Error)?.message ?? err) });
    }
  }

  /** The machine's `reconcile` and `resync`: RECONCILED when the records match the venue, else FAILED. */
  async #reconcileThen(): Promise<void> {
    try {
      await this.reconcile();
      this.#send({ type: 'RECONCILED' });
    } catch (err) {
      this.env.log.warn({ err, venue: this.spec.venue }, 'reconcile failed');
      const error = String((err as Error)?.message ?? err);
      // The guard denies new risk until the next reconciliation succeeds.
      await this.announce('failed', error).catch((e: unknown) => this.env.log.warn({ err: e }, 'reconcile failure not stored'));
      this.#send({ type: 'FAILED', error });
    }
  }

  /** The machine's `noteReady`: plans halted meanwhile are swept, and the start is logged. */
  async #onReady(): Promise<void> {
    this.env.log.info({ venue: this.spec.venue, adapter: this.spec.target.name, ...this.lastReconcile }, 'venue reconciled');
    for (const plan of this.spec.plans.keys()) {
      if (this.env.stopped(plan)) await this.cancelPlan(plan).catch((err: unknown) => this.env.log.warn({ err, plan }, 'sweep failed'));
    }
  }

  /**
   * The venue's execution adapter, `execution:{name}` and nothing else (`exchange:okx` is a
   * market-data port; the okx plugin offers `execution:okx` beside it), configured by `adapterFor`.
   */
  async #resolve(): Promise<ExecutionAdapter> {
    const { adapters } = this.env;
    const { name } = this.spec.target;
    if (!adapters.has(AdapterPort.execution, name)) {
      const loaded = adapters.list(AdapterPort.execution).map((a) => a.name);
      throw new ExecNoExecutionAdapterError(this.spec.venue, name, loaded);
    }
    return adapterFor(adapters, AdapterPort.execution, this.spec.target, this.env.settings());
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

  /**
   * One venue fact, in arrival order: the event stored, then the record updated or dropped.
   * `eventTime`: the market time it speaks for when the venue did not stamp it (the executor's own
   * view of an order); a venue update speaks for the venue's own time (`uTime`, `fillTime`).
   */
  #apply(update: VenueOrderUpdate, eventTime?: number): Promise<void> {
    return this.#inOrder(() => this.#applyNow(update, eventTime));
  }

  /** Runs `task` in the order-update queue: no venue update is stored while it runs. */
  #inOrder<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(task);
    this.#serial = next.catch(() => undefined);
    return next;
  }

  async #applyNow(update: VenueOrderUpdate, eventTime?: number): Promise<void> {
    const id = update.order.clientOrderId;
    const record = id ? await this.records.fetch(id) : undefined;
    if (!record) {
      this.counters.foreign++;
      return;
    }
    const event = eventFromVenue(this.spec.venue, record.order, update);
    const venueTime = update.order.updatedAt > 0 ? Math.trunc(update.order.updatedAt) : undefined;
    await this.#publish(event, record.correlationId, eventTime ?? venueTime ?? this.#approvedAt.get(record.order.clientOrderId));
    if (isFinal(event.kind)) {
      await this.records.remove(record.order.clientOrderId);
      this.#approvedAt.delete(record.order.clientOrderId);
    } else if (this.records.get(record.order.clientOrderId)) {
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
    await this.#publish(
      rejectionOf(this.spec.venue, order, reason, this.env.clock.now()),
      correlationId,
      this.#approvedAt.get(order.clientOrderId),
    );
    this.#approvedAt.delete(order.clientOrderId);
    await this.records.remove(order.clientOrderId).catch(() => undefined);
  }

  /** `eventTime`: the market time the event speaks for (default: the envelope's wall time). */
  async #publish(event: OrderEvent, correlationId: string, eventTime?: number): Promise<void> {
    const id = eventMessageId(event);
    // The REST answer and the pushed `live` are one fact: the stream would drop the second copy, but
    // plain subscribers (the CLI, the scheduler) would still see it twice.
    if (this.#published.has(id)) return;
    try {
      await this.env.bus.publish(OrderEventContract, subject('orderEvent', { venue: event.venue, inst: event.inst }), event, {
        id,
        correlationId,
        source: this.env.source,
        ...(eventTime === undefined ? {} : { eventTime }),
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
  async #writePositions(known?: Awaited<ReturnType<ExecutionAdapter['positions']>>): Promise<void> {
    const adapter = this.#adapter;
    if (!adapter) return;
    const positions = known ?? (await adapter.positions());
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
