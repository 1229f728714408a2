import {
  AgentTokenContract,
  type AgentTurn,
  AgentTurnContract,
  ApprovedCancelContract,
  ApprovedOrderContract,
  Buckets,
  type Bus,
  CancelRequestContract,
  CancelVerdictContract,
  type Candle,
  CandleContract,
  CONTROL_PREFIX,
  decodeControl,
  type Envelope,
  type Forecast,
  ForecastContract,
  type Logger,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  OrderVerdictContract,
  parseSubject,
  planOfControlKey,
  type StoredPlan,
  Streams,
} from '@kokex/core';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { ActorView, BarView, ControlView, DashboardEvent, ForecastView, PlanView, TurnView } from './model.js';

/**
 * Everything the dashboard shows comes from here, read from the bus only: ordered (ephemeral)
 * consumers on MD_CANDLES, FORECASTS, AGENT and ORDERS from a start time on (history, then live),
 * core subscriptions for the bar in progress and the streamed tokens, and watches on the plans,
 * actors and risk buckets. Each message becomes a `DashboardEvent`.
 */
export const READ_STREAMS = [
  { stream: Streams.candles, filter: 'kokex.md.candle.>' },
  { stream: Streams.forecasts, filter: 'kokex.forecast.>' },
  { stream: Streams.agent, filter: 'kokex.agent.turn.>' },
  { stream: Streams.orders, filter: 'kokex.order.>' },
] as const;
export const LIVE_SUBJECTS = ['kokex.md.live.>', 'kokex.agent.token.>'] as const;
export const WATCHED_BUCKETS = [Buckets.plans, Buckets.actors, Buckets.risk] as const;
/** The trading state records in `kokex-risk` (the risk guard's `control.{plan}`). */
/** Keys of the trading-control records in `kokex-risk` (core's). */
export const CONTROL_KEY_PREFIX = `${CONTROL_PREFIX}.`;

export function barOf(c: Candle): BarView {
  return { time: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}

export function forecastView(env: Envelope<Forecast>): ForecastView {
  const f = env.data;
  const view: ForecastView = {
    id: env.id,
    key: `${f.inst} ${f.tf}`,
    inst: f.inst,
    tf: f.tf,
    asOf: f.asOf,
    lastClose: f.lastClose,
    steps: f.steps,
    median: f.median.close,
    levels: f.quantiles.levels,
    bands: f.quantiles.close,
    pUp: f.pUp,
    pUpRaw: f.pUpRaw,
    scored: f.skill.scored,
    window: f.skill.window,
    skillModel: f.skill.model,
    skillBaselines: f.skill.baselines,
    tradeable: f.tradeable,
    reason: f.skill.reason,
    model: `${f.model.name}@${f.model.version}`,
    correlationId: env.correlationId,
  };
  if (f.skill.coverage80 !== undefined) view.coverage80 = f.skill.coverage80;
  if (f.skill.coverage90 !== undefined) view.coverage90 = f.skill.coverage90;
  return view;
}

const clip = (s: string, n = 4000) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function turnEvent(env: Envelope<AgentTurn>): DashboardEvent {
  const t = env.data;
  const base = { part: t.part, seq: t.seq, record: t.record };
  let turn: TurnView;
  let started: { provider: string; input: string } | undefined;
  let ended: Extract<DashboardEvent, { t: 'turn' }>['ended'];
  switch (t.record) {
    case 'started':
      turn = { ...base, text: `${t.provider}${t.model ? ` ${t.model}` : ''} on ${t.inst} ${t.tf}: ${clip(t.input, 1000)}` };
      started = { provider: t.provider, input: t.input };
      break;
    case 'message':
      turn = { ...base, role: t.role, text: clip(t.content) };
      break;
    case 'tool_call':
      turn = { ...base, tool: t.tool, text: clip(JSON.stringify(t.args)) };
      break;
    case 'tool_result':
      turn = { ...base, tool: t.tool, ok: t.ok, text: clip(t.error ? `${t.error.code}: ${t.error.message}` : t.content) };
      break;
    case 'ended':
      turn = { ...base, text: `${t.reason}: ${clip(t.answer ?? '')}` };
      ended = { reason: t.reason, answer: t.answer ?? '', turns: t.turns, toolCalls: t.toolCalls, intents: t.intents };
      break;
  }
  return {
    t: 'turn',
    plan: t.plan,
    conversation: t.conversation,
    trigger: t.trigger,
    correlationId: env.correlationId,
    at: env.eventTime,
    turn,
    ...(started ? { started } : {}),
    ...(ended ? { ended } : {}),
  };
}

function basisText(b: OrderIntent['basis']): string {
  return b.kind === 'forecast' ? `forecast ${b.id} (${b.inst} ${b.tf})` : b.kind === 'trigger' ? `${b.type} ${b.id}` : 'manual';
}

/** A cancel request, verdict or approval as the step it adds to the row of the order it cancels. */
function cancelRow(
  env: Envelope<{ clientOrderId: string; plan: string; inst: string }>,
  cancel: Extract<DashboardEvent, { t: 'cancel' }>['cancel'],
): DashboardEvent {
  const { clientOrderId, plan, inst } = env.data;
  return { t: 'cancel', clientOrderId, plan, inst, correlationId: env.correlationId, at: env.eventTime, cancel };
}

/** One message of ORDERS as an event (cancels join the row of the order they cancel). */
export function orderEvent(subjectText: string, data: Uint8Array): DashboardEvent | undefined {
  const family = parseSubject(subjectText).family;
  if (family === 'orderIntent') {
    const env = OrderIntentContract.decode(data);
    const d = env.data;
    const intent = {
      side: d.side,
      size: d.size,
      type: d.type,
      reduceOnly: d.reduceOnly,
      origin: `${d.origin.kind}:${d.origin.who}`,
      why: d.origin.why,
      basis: basisText(d.basis),
      ...(d.price !== undefined ? { price: d.price } : {}),
    };
    return {
      t: 'intent',
      clientOrderId: d.clientOrderId,
      plan: d.plan,
      venue: d.venue,
      inst: d.inst,
      correlationId: env.correlationId,
      at: env.eventTime,
      intent,
    };
  }
  if (family === 'orderVerdict') {
    const env = OrderVerdictContract.decode(data);
    const { plan, inst, clientOrderId, ...verdict } = env.data;
    return { t: 'verdict', clientOrderId, plan, inst, correlationId: env.correlationId, at: env.eventTime, verdict };
  }
  if (family === 'orderApproved') {
    const env = ApprovedOrderContract.decode(data);
    const d = env.data;
    const approved = { size: d.size, reduceOnly: d.reduceOnly, ...(d.price !== undefined ? { price: d.price } : {}) };
    return {
      t: 'approved',
      clientOrderId: d.clientOrderId,
      plan: d.plan,
      venue: d.venue,
      inst: d.inst,
      correlationId: env.correlationId,
      at: env.eventTime,
      approved,
    };
  }
  if (family === 'orderCancel') {
    const env = CancelRequestContract.decode(data);
    const { cancelId, origin } = env.data;
    return cancelRow(env, { cancelId, origin: `${origin.kind}:${origin.who}: ${origin.why}`, at: env.eventTime });
  }
  if (family === 'cancelVerdict') {
    const env = CancelVerdictContract.decode(data);
    const { cancelId, decision, reason, rule, message } = env.data;
    return cancelRow(env, { cancelId, decision, reason, rule, message, at: env.eventTime });
  }
  if (family === 'cancelApproved') {
    const env = ApprovedCancelContract.decode(data);
    return cancelRow(env, { cancelId: env.data.cancelId, approved: true, at: env.eventTime });
  }
  if (family === 'orderEvent') {
    const env = OrderEventContract.decode(data);
    const d = env.data;
    if (!d.clientOrderId) return undefined;
    const event = {
      kind: d.kind,
      side: d.side,
      size: d.size,
      filledSize: d.filledSize,
      at: d.venueTs,
      ...(d.avgPrice !== undefined ? { avgPrice: d.avgPrice } : {}),
      ...(d.fill
        ? { fill: { price: d.fill.price, size: d.fill.size, fee: d.fill.fee, ...(d.fill.feeCcy ? { feeCcy: d.fill.feeCcy } : {}) } }
        : {}),
      ...(d.reason ? { reason: d.reason } : {}),
    };
    return {
      t: 'orderEvent',
      clientOrderId: d.clientOrderId,
      venue: d.venue,
      inst: d.inst,
      correlationId: env.correlationId,
      at: env.eventTime,
      event,
      ...(d.plan ? { plan: d.plan } : {}),
    };
  }
  return undefined;
}

export function planView(stored: StoredPlan, revision: number): PlanView {
  const p = stored.plan;
  return {
    name: p.metadata.name,
    venue: p.spec.venue.name,
    mode: p.spec.venue.mode,
    inst: p.spec.instrument,
    tf: p.spec.timeframe,
    revision,
    source: stored.source,
    appliedAt: stored.appliedAt,
    initialState: p.spec.risk.initialState,
    text: `${JSON.stringify(p, null, 2)}\n`,
  };
}

/** Characters of one actor's status fields the model keeps (a status is small; a runaway one is cut, not dropped). */
export const MAX_DETAIL_CHARS = 4000;

/** The actor's own status fields: an object, kept whole when small, else its first fields that fit with a note. */
function detailOf(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const detail = value as Record<string, unknown>;
  if (JSON.stringify(detail).length <= MAX_DETAIL_CHARS) return detail;
  const out: Record<string, unknown> = {};
  let size = 0;
  for (const [k, v] of Object.entries(detail)) {
    const n = JSON.stringify(v ?? null).length + k.length + 4;
    if (size + n > MAX_DETAIL_CHARS) {
      out['…'] = `${Object.keys(detail).length - Object.keys(out).length} more field(s) not shown`;
      break;
    }
    out[k] = v;
    size += n;
  }
  return out;
}

export function actorView(key: string, s: Record<string, unknown>): ActorView {
  const err = s.lastError as { code?: string; message?: string } | undefined;
  const view: ActorView = {
    key,
    kind: String(s.kind ?? key.split('.')[0]),
    instanceId: String(s.instanceId ?? key.split('.')[1] ?? ''),
    hostId: String(s.hostId ?? ''),
    version: String(s.version ?? ''),
    state: String(s.state ?? 'unknown'),
    attempts: Number(s.attempts ?? 0),
    processed: Number(s.processed ?? 0),
    failed: Number(s.failed ?? 0),
    startedAt: Number(s.startedAt ?? 0),
    updatedAt: Number(s.updatedAt ?? 0),
    detail: detailOf(s.detail),
  };
  if (typeof s.lag === 'number') view.lag = s.lag;
  if (err) view.lastError = `${err.code ?? ''} ${err.message ?? ''}`.trim();
  return view;
}

export interface FeedOptions {
  bus: Bus;
  log: Logger;
  /** Stored messages from this wall time on are read (older ones are history the page does not show). */
  sinceMs: number;
  emit(event: DashboardEvent): void;
}

/** Starts every read; the returned function stops them all. */
export async function startFeeds(o: FeedOptions): Promise<() => Promise<void>> {
  const stops: Array<() => unknown> = [];
  const skip = (what: string, err: unknown) => o.log.debug({ err, what }, 'message the dashboard cannot read; skipped');

  for (const { stream, filter } of READ_STREAMS) {
    const consumer = await o.bus.js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(o.sinceMs).toISOString(),
    });
    const messages = await consumer.consume({ max_messages: 512 });
    stops.push(() => messages.stop());
    void (async () => {
      for await (const m of messages) {
        try {
          const e = decodeStored(m.subject, m.data);
          if (e) o.emit(e);
        } catch (err) {
          skip(m.subject, err);
        }
      }
    })().catch((err) => o.log.warn({ err, stream }, 'stream read ended'));
  }

  for (const filter of LIVE_SUBJECTS) {
    const sub = o.bus.nc.subscribe(filter, {
      callback: (err, msg) => {
        if (err) return;
        try {
          if (filter.startsWith('kokex.md.live')) {
            const c = CandleContract.decode(msg.data).data;
            o.emit({ t: 'bar', venue: c.venue, inst: c.inst, tf: c.tf, bar: barOf(c), live: true });
          } else {
            const t = AgentTokenContract.decode(msg.data).data;
            o.emit({ t: 'token', plan: t.plan, conversation: t.conversation, token: { seq: t.seq, kind: t.kind, text: t.text } });
          }
        } catch (e) {
          skip(msg.subject, e);
        }
      },
    });
    stops.push(() => sub.unsubscribe());
  }

  for (const bucket of WATCHED_BUCKETS) {
    const kv = await o.bus.kv(bucket);
    const watch = await kv.watch(bucket === Buckets.risk ? { key: `${CONTROL_KEY_PREFIX}>` } : {});
    stops.push(() => watch.stop());
    void (async () => {
      for await (const e of watch) {
        const deleted = e.operation !== 'PUT' || e.length === 0;
        try {
          if (bucket === Buckets.plans)
            o.emit({ t: 'plan', name: e.key, plan: deleted ? null : planView(e.json<StoredPlan>(), e.revision) });
          else if (bucket === Buckets.actors)
            o.emit({ t: 'actor', key: e.key, actor: deleted ? null : actorView(e.key, e.json<Record<string, unknown>>()) });
          else {
            const plan = planOfControlKey(e.key) ?? e.key;
            o.emit({ t: 'control', plan, control: deleted ? null : (decodeControl(e.value) ?? null) });
          }
        } catch (err) {
          skip(`${bucket} ${e.key}`, err);
        }
      }
    })().catch((err) => o.log.warn({ err, bucket }, 'bucket watch ended'));
  }

  return async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  };
}

export function decodeStored(subjectText: string, data: Uint8Array): DashboardEvent | undefined {
  if (subjectText.startsWith('kokex.md.candle.')) {
    const c = CandleContract.decode(data).data;
    return { t: 'bar', venue: c.venue, inst: c.inst, tf: c.tf, bar: barOf(c), live: false };
  }
  if (subjectText.startsWith('kokex.forecast.')) return { t: 'forecast', forecast: forecastView(ForecastContract.decode(data)) };
  if (subjectText.startsWith('kokex.agent.turn.')) return turnEvent(AgentTurnContract.decode(data));
  if (subjectText.startsWith('kokex.order.')) return orderEvent(subjectText, data);
  return undefined;
}
