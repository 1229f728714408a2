/**
 * What the dashboard shows, as plain data, and the one reducer that changes it. The actor keeps a
 * model filled from the bus and sends each change to every page as a `DashboardEvent`; the page
 * holds the same model and applies the same events with the same reducer (this file is bundled into
 * the web app, so it imports nothing).
 */

/** One bar; `time` is the open time in ms. */
export interface BarView {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface SeriesView {
  /** `venue inst tf`. */
  key: string;
  venue: string;
  inst: string;
  tf: string;
  /** Closed bars, oldest first. */
  bars: BarView[];
  /** The bar in progress (from `kokex.md.live`), when one was seen after the last closed bar. */
  live?: BarView;
}

export interface ForecastView {
  id: string;
  /** `inst tf`. */
  key: string;
  inst: string;
  tf: string;
  asOf: number;
  lastClose: number;
  steps: number[];
  median: number[];
  /** Quantile levels (ascending) and, per level, the close quantile per step. */
  levels: number[];
  bands: number[][];
  pUp: number;
  pUpRaw: number;
  coverage80?: number;
  coverage90?: number;
  scored: number;
  window: number;
  /** The model's score and each baseline's, on the gate's metrics. */
  skillModel: Record<string, number>;
  skillBaselines: Record<string, Record<string, number>>;
  tradeable: boolean;
  reason: string;
  model: string;
  correlationId: string;
}

export interface TurnView {
  part: number;
  seq: number;
  record: 'started' | 'message' | 'tool_call' | 'tool_result' | 'ended';
  role?: string;
  text: string;
  tool?: string;
  ok?: boolean;
}

export interface TokenView {
  /** Which exchange of the conversation (set by the model: each exchange streams from seq 0). */
  part?: number;
  seq: number;
  kind: 'text' | 'tool' | 'end';
  text: string;
}

export interface ConversationView {
  id: string;
  plan: string;
  trigger: string;
  provider?: string;
  input?: string;
  correlationId?: string;
  /** Market time of the first record seen. */
  at: number;
  records: TurnView[];
  /** Streamed tokens in `seq` order (live only: they are not stored). */
  tokens: TokenView[];
  ended?: { reason: string; answer: string; turns: number; toolCalls: number; intents: string[] };
}

export interface IntentView {
  side: string;
  size: number;
  type: string;
  price?: number;
  reduceOnly: boolean;
  origin: string;
  why: string;
  /** What the decision acted on (`forecast <id>`, `<trigger type> <id>`, `manual`). */
  basis?: string;
}

export interface VerdictView {
  decision: 'approve' | 'deny';
  reason: string;
  rule: string;
  limit?: number | string;
  value?: number | string;
  message: string;
  size?: number;
  price?: number;
}

export interface OrderEventView {
  kind: string;
  side: string;
  size: number;
  filledSize: number;
  avgPrice?: number;
  fill?: { price: number; size: number; fee: number; feeCcy?: string };
  reason?: string;
  at: number;
}

export interface OrderRow {
  clientOrderId: string;
  plan?: string;
  venue?: string;
  inst: string;
  correlationId?: string;
  /** Market time of the first message seen for it. */
  at: number;
  intent?: IntentView;
  verdict?: VerdictView;
  approved?: { size: number; price?: number; reduceOnly: boolean };
  events: OrderEventView[];
  /** Cancel requests of this order (`order.cancel`), each with the guard's answer. */
  cancels?: CancelView[];
}

export interface CancelView {
  cancelId: string;
  origin?: string;
  decision?: 'approve' | 'deny';
  reason?: string;
  rule?: string;
  message?: string;
  approved?: boolean;
  at: number;
}

export interface ControlView {
  state: string;
  killSwitch: boolean;
  by: string;
  reason: string;
  at: number;
}

export interface PlanView {
  name: string;
  venue: string;
  mode: string;
  inst: string;
  tf: string;
  revision: number;
  source: string;
  appliedAt: number;
  /** `risk.initialState`: the plan's trading state while no operator has written a control record. */
  initialState: string;
  /** The stored plan as JSON text (valid YAML), the starting point of the apply form. */
  text: string;
}

export interface ActorView {
  /** `kind.instance`, the key in the actors bucket. */
  key: string;
  kind: string;
  instanceId: string;
  hostId: string;
  version: string;
  state: string;
  attempts: number;
  lag?: number;
  processed: number;
  failed: number;
  startedAt: number;
  /** When the host last wrote this status (wall time): the heartbeat. */
  updatedAt: number;
  lastError?: string;
  /** What the actor reports through its `status()` (the `detail` of its status record), as `kokex actors --json` shows it. */
  detail: Record<string, unknown>;
}

export interface AuditEntry {
  at: number;
  who: string;
  action: string;
  target: string;
  ok: boolean;
  message: string;
}

export interface DashboardModel {
  series: Record<string, SeriesView>;
  forecasts: Record<string, ForecastView[]>;
  conversations: ConversationView[];
  orders: OrderRow[];
  plans: Record<string, PlanView>;
  controls: Record<string, ControlView>;
  actors: Record<string, ActorView>;
  audit: AuditEntry[];
  /** Base units per contract by instrument (OKX ctVal); 1 (spot) when unknown. */
  contractValues: Record<string, number>;
}

export type DashboardEvent =
  | { t: 'bar'; venue: string; inst: string; tf: string; bar: BarView; live: boolean }
  | { t: 'forecast'; forecast: ForecastView }
  | {
      t: 'turn';
      plan: string;
      conversation: string;
      trigger: string;
      correlationId?: string;
      at: number;
      turn: TurnView;
      started?: { provider: string; input: string };
      ended?: ConversationView['ended'];
    }
  | { t: 'token'; plan: string; conversation: string; token: TokenView }
  | { t: 'intent'; clientOrderId: string; plan: string; venue: string; inst: string; correlationId: string; at: number; intent: IntentView }
  | { t: 'verdict'; clientOrderId: string; plan: string; inst: string; correlationId: string; at: number; verdict: VerdictView }
  | {
      t: 'approved';
      clientOrderId: string;
      plan: string;
      venue: string;
      inst: string;
      correlationId: string;
      at: number;
      approved: NonNullable<OrderRow['approved']>;
    }
  | {
      t: 'orderEvent';
      clientOrderId: string;
      plan?: string;
      venue: string;
      inst: string;
      correlationId: string;
      at: number;
      event: OrderEventView;
    }
  | { t: 'cancel'; clientOrderId: string; plan: string; inst: string; correlationId: string; at: number; cancel: CancelView }
  | { t: 'plan'; name: string; plan: PlanView | null }
  | { t: 'control'; plan: string; control: ControlView | null }
  | { t: 'actor'; key: string; actor: ActorView | null }
  | { t: 'audit'; entry: AuditEntry }
  | { t: 'contractValue'; inst: string; value: number };

/** How much the model keeps; older entries fall off. */
export interface ModelLimits {
  bars: number;
  forecasts: number;
  conversations: number;
  orders: number;
  audit: number;
  tokensPerConversation: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  bars: 1500,
  forecasts: 60,
  conversations: 50,
  orders: 300,
  audit: 200,
  tokensPerConversation: 4000,
};

export function emptyModel(): DashboardModel {
  return { series: {}, forecasts: {}, conversations: [], orders: [], plans: {}, controls: {}, actors: {}, audit: [], contractValues: {} };
}

/** Inserts by a numeric key, keeping order and replacing an equal key (redelivered messages). */
function upsertSorted<T>(list: T[], item: T, keyOf: (x: T) => number): void {
  const k = keyOf(item);
  let i = list.length;
  while (i > 0 && keyOf(list[i - 1] as T) > k) i--;
  if (i > 0 && keyOf(list[i - 1] as T) === k) list[i - 1] = item;
  else list.splice(i, 0, item);
}

function conversationOf(model: DashboardModel, plan: string, id: string, at: number, limits: ModelLimits): ConversationView {
  let c = model.conversations.find((x) => x.id === id && x.plan === plan);
  if (!c) {
    c = { id, plan, trigger: '', at, records: [], tokens: [] };
    model.conversations.push(c);
    if (model.conversations.length > limits.conversations) model.conversations.splice(0, model.conversations.length - limits.conversations);
  }
  return c;
}

function orderOf(model: DashboardModel, clientOrderId: string, inst: string, at: number, limits: ModelLimits): OrderRow {
  let row = model.orders.find((o) => o.clientOrderId === clientOrderId);
  if (!row) {
    row = { clientOrderId, inst, at, events: [] };
    model.orders.push(row);
    if (model.orders.length > limits.orders) model.orders.splice(0, model.orders.length - limits.orders);
  }
  return row;
}

/** Applies one event in place. Server and page call this with the same events in the same order. */
export function applyEvent(model: DashboardModel, e: DashboardEvent, limits: ModelLimits = DEFAULT_LIMITS): void {
  switch (e.t) {
    case 'bar': {
      const key = `${e.venue} ${e.inst} ${e.tf}`;
      let s = model.series[key];
      if (!s) {
        s = { key, venue: e.venue, inst: e.inst, tf: e.tf, bars: [] };
        model.series[key] = s;
      }
      const lastClosed = s.bars[s.bars.length - 1]?.time ?? -1;
      if (e.live) {
        if (e.bar.time > lastClosed) s.live = e.bar;
        return;
      }
      upsertSorted(s.bars, e.bar, (b) => b.time);
      if (s.bars.length > limits.bars) s.bars.splice(0, s.bars.length - limits.bars);
      if (s.live && s.live.time <= e.bar.time) delete s.live;
      return;
    }
    case 'forecast': {
      const list = model.forecasts[e.forecast.key] ?? [];
      const i = list.findIndex((f) => f.id === e.forecast.id);
      if (i >= 0) list[i] = e.forecast;
      else upsertSorted(list, e.forecast, (f) => f.asOf);
      if (list.length > limits.forecasts) list.splice(0, list.length - limits.forecasts);
      model.forecasts[e.forecast.key] = list;
      return;
    }
    case 'turn': {
      const c = conversationOf(model, e.plan, e.conversation, e.at, limits);
      c.trigger = e.trigger;
      if (e.correlationId) c.correlationId = e.correlationId;
      if (e.started) {
        c.provider = e.started.provider;
        c.input = e.started.input;
      }
      if (e.ended) c.ended = e.ended;
      const order = (t: TurnView) => t.part * 1_000_000 + t.seq;
      upsertSorted(c.records, e.turn, order);
      return;
    }
    case 'token': {
      const c = conversationOf(model, e.plan, e.conversation, 0, limits);
      if (c.tokens.length >= limits.tokensPerConversation) return;
      // Each exchange of a chat streams from seq 0 again: a second seq 0 opens the next exchange.
      const last = c.tokens[c.tokens.length - 1];
      let part = last?.part ?? 0;
      if (e.token.seq === 0 && c.tokens.some((t) => (t.part ?? 0) === part && t.seq === 0)) part++;
      // Core NATS keeps order per publisher, but a reconnect may repeat or reorder: place by (exchange, seq).
      upsertSorted(c.tokens, { ...e.token, part }, (t) => (t.part ?? 0) * 1_000_000 + t.seq);
      return;
    }
    case 'intent': {
      const row = orderOf(model, e.clientOrderId, e.inst, e.at, limits);
      Object.assign(row, { plan: e.plan, venue: e.venue, correlationId: e.correlationId, intent: e.intent });
      return;
    }
    case 'verdict': {
      const row = orderOf(model, e.clientOrderId, e.inst, e.at, limits);
      row.plan = e.plan;
      row.correlationId ??= e.correlationId;
      row.verdict = e.verdict;
      return;
    }
    case 'approved': {
      const row = orderOf(model, e.clientOrderId, e.inst, e.at, limits);
      row.plan = e.plan;
      row.venue = e.venue;
      row.correlationId ??= e.correlationId;
      row.approved = e.approved;
      return;
    }
    case 'orderEvent': {
      const row = orderOf(model, e.clientOrderId, e.inst, e.at, limits);
      if (e.plan) row.plan = e.plan;
      row.venue = e.venue;
      row.correlationId ??= e.correlationId;
      const dup = row.events.some((x) => x.kind === e.event.kind && x.at === e.event.at && x.filledSize === e.event.filledSize);
      if (!dup) row.events.push(e.event);
      return;
    }
    case 'cancel': {
      const row = orderOf(model, e.clientOrderId, e.inst, e.at, limits);
      row.plan ??= e.plan;
      row.correlationId ??= e.correlationId;
      const cancels = row.cancels ?? [];
      const known = cancels.find((c) => c.cancelId === e.cancel.cancelId);
      // Request, verdict and approval arrive as three messages: merged into one entry per cancel id.
      if (known) Object.assign(known, Object.fromEntries(Object.entries(e.cancel).filter(([k, v]) => v !== undefined && k !== 'at')));
      else cancels.push({ ...e.cancel });
      row.cancels = cancels;
      return;
    }
    case 'plan':
      if (e.plan) model.plans[e.name] = e.plan;
      else delete model.plans[e.name];
      return;
    case 'control':
      if (e.control) model.controls[e.plan] = e.control;
      else delete model.controls[e.plan];
      return;
    case 'actor':
      if (e.actor) model.actors[e.key] = e.actor;
      else delete model.actors[e.key];
      return;
    case 'audit':
      model.audit.push(e.entry);
      if (model.audit.length > limits.audit) model.audit.splice(0, model.audit.length - limits.audit);
      return;
    case 'contractValue':
      model.contractValues[e.inst] = e.value;
      return;
  }
}

export interface PositionView {
  plan: string;
  inst: string;
  /** In the venue's order unit (contracts for swaps); `base` = size × contract value. */
  size: number;
  base: number;
  avgPrice: number;
  contractValue: number;
  mark?: number;
  /** Quote currency, contract value included. */
  realized: number;
  unrealized: number;
  fees: number;
  /** realized + unrealized − fees. */
  pnl: number;
  fills: number;
}

/**
 * Positions from the fills the model holds, average-price keeping as the live summary does:
 * adding keeps a weighted price, reducing realises `closed × (price − avg) × contract value`.
 */
export function positions(model: DashboardModel): PositionView[] {
  const books = new Map<string, PositionView>();
  const fills = model.orders
    .flatMap((o) => o.events.filter((e) => e.fill).map((e) => ({ plan: o.plan ?? '?', inst: o.inst, side: o.intent?.side ?? e.side, e })))
    .sort((a, b) => a.e.at - b.e.at);
  for (const { plan, inst, e } of fills) {
    const fill = e.fill as NonNullable<OrderEventView['fill']>;
    const key = `${plan} ${inst}`;
    const ct = model.contractValues[inst] ?? 1;
    const b = books.get(key) ?? {
      plan,
      inst,
      size: 0,
      base: 0,
      avgPrice: 0,
      contractValue: ct,
      realized: 0,
      unrealized: 0,
      fees: 0,
      pnl: 0,
      fills: 0,
    };
    b.contractValue = ct;
    b.fills++;
    b.fees += Math.abs(fill.fee);
    const signed = e.side === 'buy' ? fill.size : -fill.size;
    if (b.size === 0 || Math.sign(b.size) === Math.sign(signed)) {
      const size = b.size + signed;
      b.avgPrice = (b.avgPrice * b.size + fill.price * signed) / size;
      b.size = size;
    } else {
      const closing = Math.min(Math.abs(signed), Math.abs(b.size));
      b.realized += closing * (fill.price - b.avgPrice) * Math.sign(b.size) * ct;
      const remaining = b.size + signed;
      if (remaining === 0) b.avgPrice = 0;
      else if (Math.sign(remaining) !== Math.sign(b.size)) b.avgPrice = fill.price;
      b.size = remaining;
    }
    books.set(key, b);
  }
  for (const b of books.values()) {
    const series = Object.values(model.series).find((s) => s.inst === b.inst);
    const mark = series?.live?.close ?? series?.bars[series.bars.length - 1]?.close;
    if (mark !== undefined) b.mark = mark;
    b.base = b.size * b.contractValue;
    b.unrealized = mark !== undefined && b.size !== 0 ? (mark - b.avgPrice) * b.size * b.contractValue : 0;
    b.pnl = b.realized + b.unrealized - b.fees;
  }
  return [...books.values()];
}
