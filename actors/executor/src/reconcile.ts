import {
  type Balance,
  type Bus,
  OrderEventContract,
  type Position,
  RECONCILE_MAX_ITEMS,
  type Reconcile,
  ReconcileContract,
  type ReconcileDifference,
  type ReconcileInput,
  Streams,
  subject,
  subjectFilter,
  type VenueOrder,
} from '@kokex/core';

type GetMessageRequest = Parameters<Bus['jsm']['streams']['getMessage']>[1];

const EPS = 1e-9;
const key = (plan: string, inst: string) => `${plan}|${inst}`;

/**
 * What the ORDERS stream says the plans of one venue session hold: the position their order events
 * add up to, counted from the newest reconciliation of each plan and instrument on (whose venue
 * position is the starting point, and whose open orders give the filled size of orders still
 * working). So a start reads only the events since the last reconciliation, not the whole stream.
 */
export class OrdersView {
  #cursor = 1;
  #loaded = false;
  /**
   * Filled size per client order id, as the stored events report it (cumulative; kept after the
   * final event, since the same final state can be stored twice under two ids: a pushed fill and
   * a reconciliation's look-up).
   */
  readonly #filled = new Map<string, number>();
  /** The newest reconciliation per plan and instrument: its stream sequence and the venue's position then. */
  readonly #base = new Map<string, { seq: number; size: number }>();
  /** Signed fills stored after the base, per plan and instrument. */
  readonly #since = new Map<string, number>();

  constructor(
    private readonly bus: Bus,
    private readonly venue: string,
    private readonly keys: () => Array<[plan: string, inst: string]>,
  ) {}

  /**
   * The newest stored `reconciled` reconciliation of each plan and instrument, and where reading
   * the events starts. The last message on the subject can be an announcement (`reconciling`,
   * `failed`: every start stores one first); it names the reconciliation before it (`since`).
   */
  async load(): Promise<void> {
    if (this.#loaded) return;
    let start = Number.POSITIVE_INFINITY;
    for (const [plan, inst] of this.keys()) {
      const last = await this.bus.last(subject('orderReconcile', { plan, inst }), Streams.orders);
      let found = last ? { seq: last.seq, r: decodeReconcile(last.data) } : undefined;
      if (found?.r && found.r.status !== 'reconciled' && found.r.since) {
        const since = found.r.since;
        const msg = await this.bus.jsm.streams.getMessage(Streams.orders, { seq: since }).catch(() => null);
        found = msg ? { seq: since, r: decodeReconcile(msg.data) } : undefined;
      }
      const r = found?.r?.plan === plan && found.r.inst === inst ? found.r : undefined;
      const base = r?.status === 'reconciled' && r.position && found ? { seq: found.seq, size: r.position.size } : undefined;
      if (!base) {
        start = 1;
        continue;
      }
      this.#base.set(key(plan, inst), base);
      for (const o of r?.openOrders ?? []) if (o.clientOrderId) this.#filled.set(o.clientOrderId, o.filledSize);
      start = Math.min(start, base.seq + 1);
    }
    this.#cursor = Number.isFinite(start) ? start : 1;
    this.#loaded = true;
  }

  /** The stream sequence of the reconciliation the count of the plan and instrument starts from. */
  baseSeq(plan: string, inst: string): number | undefined {
    return this.#base.get(key(plan, inst))?.seq;
  }

  /** Reads the order events stored since the last call. */
  async catchUp(): Promise<void> {
    await this.load();
    const filter = subjectFilter('orderEvent', { venue: this.venue });
    const wanted = new Set(this.keys().map(([plan, inst]) => key(plan, inst)));
    for (;;) {
      const msg = await this.bus.jsm.streams.getMessage(Streams.orders, {
        next_by_subj: filter,
        seq: this.#cursor,
      } as unknown as GetMessageRequest);
      if (!msg) return;
      this.#cursor = msg.seq + 1;
      let event: ReturnType<typeof OrderEventContract.decode>['data'];
      try {
        event = OrderEventContract.decode(msg.data).data;
      } catch {
        continue;
      }
      const id = event.clientOrderId;
      if (!id || !event.plan) continue;
      const k = key(event.plan, event.inst);
      if (!wanted.has(k)) continue;
      const before = this.#filled.get(id) ?? 0;
      const delta = event.filledSize - before;
      if (delta > EPS) {
        this.#filled.set(id, event.filledSize);
        const base = this.#base.get(k);
        if (!base || msg.seq > base.seq) this.#since.set(k, (this.#since.get(k) ?? 0) + (event.side === 'buy' ? delta : -delta));
      }
    }
  }

  /** The position ORDERS says the plan holds on the instrument. */
  booked(plan: string, inst: string): number {
    const k = key(plan, inst);
    return round((this.#base.get(k)?.size ?? 0) + (this.#since.get(k) ?? 0));
  }

  /** A reconciliation was stored at `seq` with the venue's position: counting starts again from it. */
  rebase(plan: string, inst: string, seq: number, size: number): void {
    this.#base.set(key(plan, inst), { seq, size });
    this.#since.delete(key(plan, inst));
  }
}

/** A size rounded to 10 decimals, so float noise never reads as a difference. */
export const round = (n: number) => Number(n.toFixed(10));

function decodeReconcile(data: Uint8Array): Reconcile | undefined {
  try {
    return ReconcileContract.decode(data).data;
  } catch {
    return undefined;
  }
}

/** What one reconciliation run found at the venue, beside what the records loop resolved. */
export interface VenueTruth {
  positions: Position[];
  open: VenueOrder[];
  balances: Balance[];
  /** Client order ids of the open orders ORDERS knows (the executor's records). */
  known: (clientOrderId: string) => boolean;
}

/** The reconciliation of one plan and instrument: the venue's truth and each difference with ORDERS. */
export function reconcileOf(args: {
  plan: string;
  venue: string;
  inst: string;
  run: string;
  truth: VenueTruth;
  booked: number;
  /** Differences the records loop found for this plan and instrument (orders resolved, fills caught up). */
  found: ReconcileDifference[];
  /** Other plans trading this instrument on the same account (its position cannot be split between them). */
  shared: boolean;
}): ReconcileInput {
  const { plan, venue, inst, run, truth, booked } = args;
  const p = truth.positions.find((x) => x.inst === inst);
  const position = { size: round(p?.size ?? 0), avgPrice: p && Number.isFinite(p.avgPrice) ? Math.max(0, p.avgPrice) : 0 };
  const open = truth.open.filter((o) => o.inst === inst);
  const differences: ReconcileDifference[] = [...args.found];
  if (!args.shared && Math.abs(position.size - booked) > EPS) {
    differences.unshift({
      kind: 'position',
      venue: position.size,
      book: booked,
      message: `the venue holds ${position.size} ${inst}, the order events in ORDERS add up to ${booked}`,
    });
  }
  for (const o of open) {
    if (o.clientOrderId && truth.known(o.clientOrderId)) continue;
    differences.push({
      kind: 'order_unknown',
      ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
      venueOrderId: o.venueOrderId.slice(0, 64),
      venue: o.size - o.filledSize,
      book: 0,
      message: `order ${o.clientOrderId || o.venueOrderId} (${o.side} ${o.size}) is open at the venue and unknown to ORDERS`,
    });
  }
  const truncated =
    open.length > RECONCILE_MAX_ITEMS || differences.length > RECONCILE_MAX_ITEMS || truth.balances.length > RECONCILE_MAX_ITEMS;
  return {
    plan,
    venue,
    inst,
    status: 'reconciled',
    position,
    booked,
    openOrders: open.slice(0, RECONCILE_MAX_ITEMS).map((o) => ({
      ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
      venueOrderId: o.venueOrderId.slice(0, 64),
      side: o.side,
      size: o.size,
      filledSize: o.filledSize,
      ...(o.price !== undefined && o.price > 0 ? { price: o.price } : {}),
    })),
    balances: truth.balances
      .slice(0, RECONCILE_MAX_ITEMS)
      .map((b) => ({ ccy: b.ccy.slice(0, 16), total: b.total, available: b.available })),
    differences: differences.slice(0, RECONCILE_MAX_ITEMS),
    truncated,
    run,
  };
}

/** Stores one reconciliation (`kokex.order.reconcile.{plan}.{inst}`), once per run and status. */
export async function publishReconcile(bus: Bus, data: ReconcileInput, source: string): Promise<{ seq: number; reconcile: Reconcile }> {
  const result = await bus.publish(ReconcileContract, subject('orderReconcile', { plan: data.plan, inst: data.inst }), data, {
    id: `reconcile:${data.venue}:${data.plan}:${data.inst}:${data.run}:${data.status}`,
    source,
  });
  return { seq: result.seq, reconcile: result.envelope.data };
}
