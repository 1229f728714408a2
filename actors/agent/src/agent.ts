import {
  type ActorContext,
  type ActorLogic,
  type AgentTrigger,
  CandleContract,
  type ChatModel,
  type ConsumerBinding,
  type Contract,
  consume,
  type DecisionBasis,
  defineActorKind,
  type Envelope,
  type Forecast,
  ForecastContract,
  getStoredPlan,
  MarketClockKind,
  marketNow,
  type MessageHandler,
  OrderEventContract,
  Streams,
  subject,
  subjectFilter,
  Tokens,
  toWireError,
} from '@kokex/core';
import { z } from 'zod';
import { createAccountReader } from './account.js';
import { type AgentConfig, type AgentPlan, agentConfigFromPlans, agentConfigSchema, providerConfig } from './config.js';
import { type ChatOutcome, type ChatReply, chatRequestSchema, ScheduledDecisionContract } from '@kokex/core';
import { CHAT_SUBJECT_FILTER, DECIDE_SUBJECT_FILTER } from './subjects.js';
import { runConversation } from './conversation.js';
import { AgentBusyError, AgentChatRequestError, AgentPlanUnknownError, AgentProviderError } from './errors.js';
import { OrderEventBook } from './order-book.js';
import { buildSystemPrompt, loadTemplate } from './prompt.js';
import { ConversationRecorder } from './recorder.js';
import { latestBySubject } from './stream-reads.js';
import { forecastAsOf, ToolRunner } from './tools.js';
import { candleInput, conversationIdFor, forecastInput, orderEventInput, scheduledInput } from './triggers.js';

/** Durables every agent replica shares, one per triggering stream. */
export const AgentDurables = {
  forecasts: 'agent-forecasts',
  candles: 'agent-candles',
  orderEvents: 'agent-order-events',
  decisions: 'agent-decisions',
} as const;

/** Where each bus-borne trigger arrives (one filter per consumer, as nats-server 2.9 allows). */
export const TRIGGER_DURABLES = {
  auto_inference: { stream: Streams.forecasts, durable: AgentDurables.forecasts, filter: subjectFilter('forecast') },
  kline_event: { stream: Streams.candles, durable: AgentDurables.candles, filter: subjectFilter('candle') },
  order_event: { stream: Streams.orders, durable: AgentDurables.orderEvents, filter: subjectFilter('orderEvent') },
  scheduled_decision: { stream: Streams.clock, durable: AgentDurables.decisions, filter: DECIDE_SUBJECT_FILTER },
} as const satisfies Record<Exclude<AgentTrigger, 'manual_chat'>, { stream: string; durable: string; filter: string }>;

/** Queue group of the chat subscription: one replica answers each line. */
export const AGENT_QUEUE = 'kokex-agent';

export interface ConversationRequest {
  plan: AgentPlan;
  trigger: AgentTrigger;
  input: string;
  conversation: string;
  correlationId: string;
  cause: { subject?: string; id: string; type?: string };
  history?: Array<{ role: 'user' | 'assistant'; content: string }>;
  part?: number;
  /** The forecast the prompt shows, with its message id; default: the newest stored for the plan's series. */
  forecast?: ShownForecast;
  /** A forecast the trigger named but that is not stored (any more): the basis still names it. */
  named?: Extract<DecisionBasis, { kind: 'forecast' }>;
  /** Market time the trigger spoke for (its envelope's `eventTime`). */
  asOf?: number;
}

/** A forecast as the agent shows it: its payload and its envelope id (what an intent's basis names). */
export interface ShownForecast {
  id: string;
  data: Forecast;
}

/** The forecast a scheduled decision carries (the scheduler's infer stage): its id and bar, when it ran. */
const carriedForecastSchema = z.object({ id: z.string().min(1), asOf: z.number().int() }).partial();

/** Stored forecasts of a series looked through for the one a scheduled decision names. */
const NAMED_FORECAST_LOOKBACK = 32;

/** What the conversation acts on: the forecast it shows, else the one its trigger named, else the trigger. */
export function basisOf(req: Pick<ConversationRequest, 'forecast' | 'named' | 'cause' | 'asOf'>): DecisionBasis {
  if (req.forecast) {
    const f = req.forecast.data;
    return { kind: 'forecast', id: req.forecast.id, inst: f.inst, tf: f.tf, asOf: f.asOf };
  }
  if (req.named) return req.named;
  return { kind: 'trigger', type: req.cause.type ?? 'chat', id: req.cause.id, ...(req.asOf !== undefined ? { asOf: req.asOf } : {}) };
}

const decoder = new TextDecoder();

/**
 * The agent: on each trigger the plan enables (a forecast, a closed candle, an order event, a
 * scheduled decision, a chat line) it runs one bounded conversation with the plan's chat model and
 * tools. Its only effects are order intents, turn records and streamed tokens.
 */
export function createAgentLogic(ctx: ActorContext<AgentConfig>): ActorLogic<AgentConfig> {
  const config = ctx.config;
  const adapters = ctx.container.resolve(Tokens.Adapters);
  const book = new OrderEventBook(ctx.bus);
  const account = createAccountReader({ adapters, book, venueSettings: () => config.venues, askVenue: () => config.askVenue });
  const chains = new Map<string, Promise<unknown>>();
  const subscriptions: Array<{ unsubscribe(): void }> = [];
  const totals = {
    conversations: 0,
    intents: 0,
    skippedStale: 0,
    byReason: {} as Record<string, number>,
    tokens: {} as Record<string, number>,
  };
  let pending = 0;
  let last: (ChatOutcome & { plan: string; trigger: AgentTrigger; at: number }) | undefined;

  const plansWith = (trigger: AgentTrigger) => config.plans.filter((p) => p.triggers.includes(trigger));

  const modelFor = async (plan: AgentPlan): Promise<ChatModel> => {
    try {
      return await adapters.resolve<ChatModel>('llm', plan.provider, providerConfig(config, plan));
    } catch (err) {
      throw new AgentProviderError(plan.provider, plan.plan, err);
    }
  };

  const decodeForecast = (data: Uint8Array): ShownForecast | undefined => {
    try {
      const env = ForecastContract.decode(data);
      return { id: env.id, data: env.data };
    } catch {
      return undefined;
    }
  };

  /** The plan's newest forecast as of `asOf` (a trigger's market time; none: the newest stored). */
  const latestForecast = async (plan: AgentPlan, asOf?: number): Promise<ShownForecast | undefined> => {
    const env = await forecastAsOf(ctx.bus, subject('forecast', { inst: plan.inst, tf: plan.tf }), asOf ?? Number.POSITIVE_INFINITY);
    return env ? { id: env.id, data: env.data } : undefined;
  };

  /** The forecast with this message id among the last stored of the plan's series. */
  const storedForecast = async (plan: AgentPlan, id: string): Promise<ShownForecast | undefined> => {
    const stored = await latestBySubject(
      ctx.bus,
      Streams.forecasts,
      subject('forecast', { inst: plan.inst, tf: plan.tf }),
      NAMED_FORECAST_LOOKBACK,
    );
    return stored.map((m) => decodeForecast(m.data)).find((f) => f?.id === id);
  };

  const run = async (req: ConversationRequest): Promise<ChatOutcome> => {
    const { plan } = req;
    const model = await modelFor(plan);
    const source = plan.template ? (await getStoredPlan(ctx.bus, plan.plan).catch(() => undefined))?.stored.source : undefined;
    const template = await loadTemplate(plan.template, source, config.promptDirs);
    // A trigger that named a forecast keeps it: the latest one is not what it was about.
    const shown = req.forecast ?? (req.named ? undefined : await latestForecast(plan, req.asOf));
    const basis = basisOf({ ...req, forecast: shown });
    // The conversation's market time: what its trigger spoke for, else (a chat) the newest market
    // time this agent has seen for the plan; live, the wall clock.
    const clock = ctx.marketClocks.of(plan.plan, plan.mode);
    if (req.asOf !== undefined) clock.observe(req.asOf);
    const now = req.asOf ?? marketNow(clock, ctx.clock.now());
    const system = buildSystemPrompt({
      plan,
      template,
      templateName: plan.template ?? 'default',
      forecast: shown?.data,
      trigger: req.trigger,
      now,
    });
    const head = { plan: plan.plan, conversation: req.conversation, trigger: req.trigger, part: req.part ?? 0 };
    const meta = { correlationId: req.correlationId, causationId: req.cause.id, source: ctx.instanceId, eventTime: now };
    const recorder = new ConversationRecorder(ctx.bus, ctx.clock, head, meta);
    const tools = new ToolRunner({
      bus: ctx.bus,
      clock: ctx.clock,
      plan,
      conversation: req.conversation,
      correlationId: req.correlationId,
      causationId: req.cause.id,
      source: ctx.instanceId,
      eventTime: now,
      account,
      marketCandles: config.marketCandles,
      basis,
      onIntent: () => {
        totals.intents += 1;
      },
    });
    await recorder.record({
      record: 'started',
      provider: plan.provider,
      ...(plan.model ? { model: plan.model } : {}),
      inst: plan.inst,
      tf: plan.tf,
      tools: plan.tools,
      limits: plan.limits,
      system,
      input: req.input,
      cause: req.cause,
    });
    const outcome = await runConversation(
      { plan, system, input: req.input, history: req.history ?? [] },
      { model, tools, recorder, clock: ctx.clock, log: ctx.log, signal: ctx.signal, maxToolResultChars: config.maxToolResultChars },
    );
    totals.conversations += 1;
    totals.byReason[outcome.reason] = (totals.byReason[outcome.reason] ?? 0) + 1;
    totals.tokens[plan.plan] = (totals.tokens[plan.plan] ?? 0) + outcome.tokens.inputTokens + outcome.tokens.outputTokens;
    last = { ...outcome, plan: plan.plan, trigger: req.trigger, at: ctx.clock.now() };
    ctx.log.info(
      {
        plan: plan.plan,
        trigger: req.trigger,
        conversation: outcome.conversation,
        reason: outcome.reason,
        intents: outcome.intents.length,
      },
      'conversation ended',
    );
    return outcome;
  };

  /** Conversations of one plan run one at a time (two at once could both act on one forecast). */
  const converse = (req: ConversationRequest): Promise<ChatOutcome> => {
    if (pending >= config.maxConcurrent) throw new AgentBusyError(pending);
    pending += 1;
    const previous = chains.get(req.plan.plan) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => run(req));
    const settled = next.finally(() => {
      pending -= 1;
      if (chains.get(req.plan.plan) === settled) chains.delete(req.plan.plan);
    });
    chains.set(req.plan.plan, settled);
    return next;
  };

  /**
   * The plans that decide on this message. A live plan skips it when a newer message of the same
   * subject is stored (a backlog after downtime is not decided on). A replayed plan decides on
   * every one: whether the agent keeps up with a replay depends on the machine, and what it
   * decides must not (the same bars give the same decisions at 1×, 60× or in lockstep).
   */
  const fresh = async (plans: AgentPlan[], stream: string, msg: { seq: number; subject: string }): Promise<AgentPlan[]> => {
    const live = plans.filter((p) => ctx.marketClocks.of(p.plan, p.mode).kind !== MarketClockKind.event);
    if (!config.skipStale || live.length === 0) return plans;
    const newest = await ctx.bus.last(msg.subject, stream);
    if (!newest || newest.seq <= msg.seq) return plans;
    totals.skippedStale += 1;
    return plans.filter((p) => !live.includes(p));
  };

  const triggered = async (
    plan: AgentPlan,
    trigger: AgentTrigger,
    env: Envelope<unknown>,
    subj: string,
    input: string,
    about: Pick<ConversationRequest, 'forecast' | 'named'> = {},
  ) => {
    await converse({
      plan,
      trigger,
      input,
      conversation: conversationIdFor(trigger, plan.plan, env.id),
      correlationId: env.correlationId,
      cause: { subject: subj, id: env.id, type: env.type },
      asOf: env.eventTime,
      ...about,
    });
  };

  const ackWaitMs = Math.max(60_000, ...config.plans.map((p) => p.limits.timeoutMs + 30_000));
  const consumers: ConsumerBinding[] = [];
  /** One durable per triggering stream, created only when some plan enables its trigger. */
  const bind = <T>(trigger: Exclude<AgentTrigger, 'manual_chat'>, contract: Contract<T, any>, handle: MessageHandler<T>) => {
    if (!plansWith(trigger).length) return;
    consumers.push(consume({ ...TRIGGER_DURABLES[trigger], contract, deliverPolicy: 'new', maxInFlight: 4, ackWaitMs }, handle));
  };
  bind('auto_inference', ForecastContract, async (env, msg) => {
    const f = env.data;
    const matching = plansWith('auto_inference').filter((p) => p.inst === f.inst && p.tf === f.tf);
    const plans = matching.length ? await fresh(matching, Streams.forecasts, msg) : [];
    if (!plans.length) return;
    await Promise.all(
      plans.map((p) => triggered(p, 'auto_inference', env, msg.subject, forecastInput(f), { forecast: { id: env.id, data: f } })),
    );
  });
  bind('kline_event', CandleContract, async (env, msg) => {
    const c = env.data;
    const matching = plansWith('kline_event').filter((p) => p.venue === c.venue && p.inst === c.inst && p.tf === c.tf);
    const plans = c.confirmed && matching.length ? await fresh(matching, Streams.candles, msg) : [];
    if (!plans.length) return;
    await Promise.all(plans.map((p) => triggered(p, 'kline_event', env, msg.subject, candleInput(c))));
  });
  bind('order_event', OrderEventContract, async (env, msg) => {
    const e = env.data;
    if (!config.orderEventKinds.includes(e.kind)) return;
    const plan = plansWith('order_event').find((p) => p.plan === e.plan);
    if (plan) await triggered(plan, 'order_event', env, msg.subject, orderEventInput(e));
  });
  bind('scheduled_decision', ScheduledDecisionContract, async (env, msg) => {
    const plan = plansWith('scheduled_decision').find((p) => p.plan === env.data.plan);
    const job = typeof env.data.job === 'string' ? env.data.job : undefined;
    if (!plan) return;
    // The forecast the scheduler's infer stage produced for this run, shown and acted on as such.
    const carried = carriedForecastSchema.safeParse(env.data.forecast);
    const id = carried.success ? carried.data.id : undefined;
    const asOf = carried.success ? carried.data.asOf : undefined;
    const found = id ? await storedForecast(plan, id) : undefined;
    const about = found
      ? { forecast: found }
      : id && asOf !== undefined
        ? { named: { kind: 'forecast' as const, id, inst: plan.inst, tf: plan.tf, asOf } }
        : {};
    await triggered(plan, 'scheduled_decision', env, msg.subject, scheduledInput(job, env.data.at ?? env.eventTime), about);
  });

  const onChat = async (planName: string, data: Uint8Array, reply: (r: ChatReply) => void) => {
    try {
      const plan = config.plans.find((p) => p.plan === planName);
      if (!plan) throw new AgentPlanUnknownError(planName, 'no agent runs for this plan here (not applied, or agent disabled)');
      if (!plan.triggers.includes('manual_chat'))
        throw new AgentPlanUnknownError(planName, "manual_chat is not among the plan's agent.triggers");
      let raw: unknown;
      try {
        raw = JSON.parse(decoder.decode(data));
      } catch {
        throw new AgentChatRequestError('not JSON');
      }
      const parsed = chatRequestSchema.safeParse(raw);
      if (!parsed.success) throw new AgentChatRequestError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const req = parsed.data;
      const part = req.history.filter((h) => h.role === 'user').length;
      const conversation = req.conversation ?? conversationIdFor('manual_chat', planName, `${ctx.clock.now()}:${Math.random()}`);
      const outcome = await converse({
        plan,
        trigger: 'manual_chat',
        input: req.message,
        conversation,
        correlationId: `${conversation}:${part}`,
        cause: { id: `${conversation}:${part}`, type: 'chat' },
        history: req.history,
        part,
      });
      reply({ ok: true, ...outcome });
    } catch (err) {
      reply({ ok: false, error: toWireError(err) });
    }
  };

  return {
    consumers,
    start() {
      const fail = (what: string) => (err: unknown) => ctx.log.warn({ err }, `${what} failed`);
      subscriptions.push(
        ctx.bus.nc.subscribe(CHAT_SUBJECT_FILTER, {
          queue: AGENT_QUEUE,
          callback: (err, msg) => {
            if (err) return;
            const planName = msg.subject.split('.').at(-1) ?? '';
            void onChat(planName, msg.data, (r) => msg.respond(JSON.stringify(r))).catch(fail('chat'));
          },
        }),
      );
    },
    stop() {
      for (const s of subscriptions.splice(0)) s.unsubscribe();
    },
    status: () => ({
      plans: config.plans.map((p) => ({ plan: p.plan, provider: p.provider, triggers: p.triggers, tokens: totals.tokens[p.plan] ?? 0 })),
      running: pending,
      conversations: totals.conversations,
      intents: totals.intents,
      skippedStale: totals.skippedStale,
      byReason: { ...totals.byReason },
      ...(last
        ? { last: { plan: last.plan, trigger: last.trigger, conversation: last.conversation, reason: last.reason, at: last.at } }
        : {}),
    }),
  };
}

export const agentActor = defineActorKind<AgentConfig>({
  kind: 'agent',
  description: 'decides on forecasts, candles, fills, schedules and chat with a tool-calling chat model; publishes order intents only',
  configSchema: agentConfigSchema,
  configFromPlans: agentConfigFromPlans,
  create: createAgentLogic,
  access: (plans) => ({
    // Intents and cancel requests for its plans only, and its own subjects; never an approval (only the risk guard may).
    publish: [
      ...agentConfigFromPlans(plans, agentConfigSchema.parse({})).plans.flatMap((p) => [
        subjectFilter('orderIntent', { plan: p.plan }),
        subjectFilter('orderCancel', { plan: p.plan }),
      ]),
      'kokex.agent.token.>',
      'kokex.agent.turn.>',
      `$JS.API.STREAM.MSG.GET.${Streams.candles}`,
      `$JS.API.STREAM.MSG.GET.${Streams.forecasts}`,
      `$JS.API.STREAM.MSG.GET.${Streams.orders}`,
    ],
    subscribe: [CHAT_SUBJECT_FILTER],
    consume: Object.values(TRIGGER_DURABLES).map((d) => ({ ...d })),
    kv: [],
  }),
});
