import {
  type AgentTool,
  type Bus,
  type CancelRequest,
  CandleContract,
  type Clock,
  type DecisionBasis,
  type Envelope,
  type Forecast,
  ForecastContract,
  type OrderIntent,
  Streams,
  subject,
} from '@kokex/core';
import { type StructuredToolInterface, tool } from '@langchain/core/tools';
import { z } from 'zod';
import type { AccountReader } from './account.js';
import type { AgentPlan } from './config.js';
import { AgentErrorCode, AgentToolError } from './errors.js';
import { agentClientOrderId, type PublishedIntent, publishCancel, publishIntent } from './intents.js';
import { forecastSummary } from './prompt.js';
import { latestBySubject } from './stream-reads.js';

/**
 * The agent's tools: a zod schema each (what the model is told and what its arguments are checked
 * against) and a run function. Reads go to the streams or the account reader; place_order
 * publishes an intent and cancel_order a cancel request, each naming what the conversation acted
 * on (`basis`: the forecast it was shown or last read, else its trigger). A failure is returned as `{error: {code, message}}` for the model
 * to read, never thrown into the loop.
 */
const inst = z.string().min(1).optional().describe("Instrument id; default the plan's instrument.");

export const toolSchemas = {
  get_market: z.object({
    inst,
    count: z.number().int().min(1).max(200).optional().describe('How many of the latest closed candles. Default 20.'),
  }),
  get_forecast: z.object({ inst }),
  get_positions: z.object({ inst }),
  get_balance: z.object({}),
  get_open_orders: z.object({ inst }),
  place_order: z.object({
    inst,
    side: z.enum(['buy', 'sell']),
    size: z.number().positive().describe("Size in the venue's order unit (contracts for swaps, base currency for spot)."),
    type: z.enum(['market', 'limit']).default('market'),
    price: z.number().positive().optional().describe('Limit price; required for limit orders.'),
    reduceOnly: z.boolean().default(false).describe('Only shrink the position.'),
    why: z.string().min(1).max(500).describe('Why, in a sentence: kept in the audit trail.'),
  }),
  cancel_order: z.object({
    clientOrderId: z.string().min(1).max(32).describe('Client order id of the open order to cancel (from get_open_orders).'),
    why: z.string().min(1).max(500).describe('Why, in a sentence: kept in the audit trail.'),
  }),
} satisfies Record<AgentTool, z.AnyZodObject>;

const DESCRIPTIONS: Record<AgentTool, string> = {
  get_market: 'Latest closed candles of the instrument (oldest first) and the last close.',
  get_forecast: 'The latest Kronos forecast: P(up), bands of the final close, and the skill record with `tradeable`.',
  get_positions: 'Current positions (signed size: long positive).',
  get_balance: 'Account balance, or what is known of it.',
  get_open_orders: 'Orders placed and not yet filled, cancelled or rejected.',
  place_order: 'Publish an order INTENT. The risk guard approves or denies it; it is not an order until approved.',
  cancel_order: 'Publish a CANCEL REQUEST for an open order of this plan. The risk guard checks that the order is the plan’s and open.',
};

export interface ToolContext {
  bus: Bus;
  clock: Clock;
  plan: AgentPlan;
  conversation: string;
  correlationId: string;
  causationId: string;
  source: string;
  /** The conversation's market time: intents and cancels speak for it (their envelope `eventTime`). */
  eventTime: number;
  account: AccountReader;
  marketCandles: number;
  /**
   * What the conversation acts on at its start: the forecast its prompt shows, else its trigger.
   * A get_forecast call in a conversation without a forecast moves it to the forecast the model read.
   */
  basis: DecisionBasis;
  /** Called for each intent published (the loop records it). */
  onIntent(intent: PublishedIntent): void;
}

export interface ToolOutcome {
  ok: boolean;
  content: string;
  error?: AgentToolError;
  intent?: PublishedIntent;
}

/** LangChain tool objects for `bindTools` (the loop runs the tools itself, so they are never invoked). */
export function boundTools(tools: readonly AgentTool[]): StructuredToolInterface[] {
  return tools.map(
    (name) => tool(async () => '', { name, description: DESCRIPTIONS[name], schema: toolSchemas[name] }) as StructuredToolInterface,
  );
}

/** Runs one tool call with the model's arguments. */
export class ToolRunner {
  #orders = 0;
  #basis: DecisionBasis;

  constructor(private readonly ctx: ToolContext) {
    this.#basis = ctx.basis;
  }

  /** What the next intent will say it acted on. */
  get basis(): DecisionBasis {
    return this.#basis;
  }

  async run(name: string, args: unknown): Promise<ToolOutcome> {
    try {
      if (!(name in toolSchemas))
        throw new AgentToolError(AgentErrorCode.ToolDisabled, name, `no such tool; enabled: ${this.ctx.plan.tools.join(', ')}`);
      const toolName = name as AgentTool;
      if (!this.ctx.plan.tools.includes(toolName)) {
        throw new AgentToolError(
          AgentErrorCode.ToolDisabled,
          name,
          `not enabled for plan ${this.ctx.plan.plan}; enabled: ${this.ctx.plan.tools.join(', ')}`,
        );
      }
      const parsed = toolSchemas[toolName].safeParse(args ?? {});
      if (!parsed.success) {
        const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(args)'}: ${i.message}`).join('; ');
        throw new AgentToolError(AgentErrorCode.ToolInput, name, detail);
      }
      const { result, intent } = await this.#dispatch(toolName, parsed.data);
      return { ok: true, content: JSON.stringify(result), ...(intent ? { intent } : {}) };
    } catch (err) {
      const error =
        err instanceof AgentToolError ? err : new AgentToolError(AgentErrorCode.ToolFailed, name, (err as Error)?.message ?? String(err));
      return { ok: false, content: JSON.stringify({ error: { code: error.code, message: error.message } }), error };
    }
  }

  async #dispatch(name: AgentTool, args: Record<string, any>): Promise<{ result: unknown; intent?: PublishedIntent }> {
    const { plan, account } = this.ctx;
    switch (name) {
      case 'get_market':
        return { result: await this.#market(this.#instrument(name, args.inst, false), args.count ?? this.ctx.marketCandles) };
      case 'get_forecast':
        return { result: await this.#forecast(this.#instrument(name, args.inst, false)) };
      case 'get_positions':
        return { result: await account.positions(plan, args.inst) };
      case 'get_balance':
        return { result: await account.balance(plan) };
      case 'get_open_orders':
        return { result: await account.openOrders(plan, args.inst) };
      case 'place_order':
        return this.#place(args as z.output<(typeof toolSchemas)['place_order']>);
      case 'cancel_order':
        return this.#cancel(args as z.output<(typeof toolSchemas)['cancel_order']>);
    }
  }

  #instrument(toolName: string, requested: string | undefined, forOrder: boolean): string {
    const { plan } = this.ctx;
    const chosen = requested ?? plan.inst;
    if (forOrder && !plan.instruments.includes(chosen)) {
      throw new AgentToolError(
        AgentErrorCode.InstrumentNotAllowed,
        toolName,
        `plan ${plan.plan} trades ${plan.instruments.join(', ')}, not ${chosen}`,
        {
          inst: chosen,
        },
      );
    }
    return chosen;
  }

  async #market(inst: string, count: number) {
    const { plan, bus } = this.ctx;
    const subj = subject('candle', { venue: plan.venue, inst, tf: plan.tf });
    const stored = await latestBySubject(bus, Streams.candles, subj, count);
    const candles = stored.flatMap((m) => {
      try {
        const e = CandleContract.decode(m.data);
        const c = e.data;
        // As of the conversation's market time: a bar that closed after it is not what it could know.
        return c.confirmed && e.eventTime <= this.ctx.eventTime
          ? [{ time: new Date(c.ts).toISOString(), open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }]
          : [];
      } catch {
        return [];
      }
    });
    return { venue: plan.venue, inst, tf: plan.tf, candles, last: candles.at(-1)?.close ?? null };
  }

  async #forecast(inst: string) {
    const env = await forecastAsOf(this.ctx.bus, subject('forecast', { inst, tf: this.ctx.plan.tf }), this.ctx.eventTime);
    if (!env) return { forecast: null, note: 'no forecast has been published yet' };
    // A conversation started on a trigger without a forecast now rests on the one the model read. One
    // started on a forecast (its trigger's, or a scheduled decision's) keeps it: that is what it is about.
    if (this.#basis.kind !== 'forecast' && inst === this.ctx.plan.inst) {
      this.#basis = { kind: 'forecast', id: env.id, inst, tf: env.data.tf, asOf: env.data.asOf };
    }
    return { forecast: forecastSummary(env.data) };
  }

  #intentBase(inst: string, why: string): Pick<OrderIntent, 'plan' | 'venue' | 'inst' | 'clientOrderId' | 'origin' | 'basis'> {
    this.#orders += 1;
    return {
      plan: this.ctx.plan.plan,
      venue: this.ctx.plan.venue,
      inst,
      clientOrderId: agentClientOrderId(this.ctx.conversation, this.#orders),
      origin: { kind: 'agent', who: this.ctx.conversation, why },
      basis: this.#basis,
    };
  }

  #meta() {
    return {
      correlationId: this.ctx.correlationId,
      causationId: this.ctx.causationId,
      source: this.ctx.source,
      eventTime: this.ctx.eventTime,
      time: this.ctx.clock.now(),
    };
  }

  async #publish(intent: OrderIntent): Promise<PublishedIntent> {
    const published = await publishIntent(this.ctx.bus, intent, this.#meta());
    this.ctx.onIntent(published);
    return published;
  }

  async #place(args: z.output<(typeof toolSchemas)['place_order']>) {
    const inst = this.#instrument('place_order', args.inst, true);
    if (args.type === 'limit' && args.price === undefined)
      throw new AgentToolError(AgentErrorCode.ToolInput, 'place_order', 'a limit order needs a price');
    const intent: OrderIntent = {
      ...this.#intentBase(inst, args.why),
      side: args.side,
      size: args.size,
      type: args.type,
      ...(args.type === 'limit' && args.price !== undefined ? { price: args.price } : {}),
      reduceOnly: args.reduceOnly,
      refs: { conversation: this.ctx.conversation, trigger: this.ctx.causationId },
    };
    const published = await this.#publish(intent);
    return {
      result: {
        status: 'intent_published',
        clientOrderId: published.clientOrderId,
        note: 'the risk guard decides; check get_open_orders or get_positions for the outcome',
      },
      intent: published,
    };
  }

  async #cancel(args: z.output<(typeof toolSchemas)['cancel_order']>) {
    const open = await this.ctx.account.openOrders(this.ctx.plan);
    const orders = (open.orders ?? []) as Array<{ clientOrderId?: string; inst: string }>;
    const order = orders.find((o) => o.clientOrderId === args.clientOrderId);
    if (!order) {
      const known = orders.flatMap((o) => (o.clientOrderId ? [o.clientOrderId] : []));
      throw new AgentToolError(
        AgentErrorCode.ToolInput,
        'cancel_order',
        `no open order ${args.clientOrderId}; open: ${known.join(', ') || 'none'}`,
      );
    }
    const inst = this.#instrument('cancel_order', order.inst, true);
    const { clientOrderId: cancelId, ...base } = this.#intentBase(inst, args.why);
    const request: CancelRequest = { ...base, cancelId, clientOrderId: args.clientOrderId };
    const published = await publishCancel(this.ctx.bus, request, this.#meta());
    this.ctx.onIntent(published);
    return {
      result: { status: 'cancel_requested', cancelId: published.clientOrderId, cancels: args.clientOrderId },
      intent: published,
    };
  }
}

/** How many stored forecasts back `forecastAsOf` looks when the newest is after the market time asked. */
const AS_OF_LOOKBACK = 32;

/**
 * The newest stored forecast of `subj` whose market time is at or before `eventTime`: what a
 * decision speaking for that time could have known. Keeping up, that is the newest (one read);
 * behind the market (a replay's backlog), newer forecasts are passed over, so a decision on bar T
 * reads T's forecast at any replay speed, never one of T+1. Undefined when none is that old among
 * the last `AS_OF_LOOKBACK`.
 */
export async function forecastAsOf(bus: Bus, subj: string, eventTime: number): Promise<Envelope<Forecast> | undefined> {
  const decode = (data: Uint8Array) => {
    try {
      return ForecastContract.decode(data);
    } catch {
      return undefined;
    }
  };
  const last = await bus.last(subj, Streams.forecasts);
  const newest = last ? decode(last.data) : undefined;
  if (!newest || newest.eventTime <= eventTime) return newest;
  const stored = await latestBySubject(bus, Streams.forecasts, subj, AS_OF_LOOKBACK);
  return stored
    .map((m) => decode(m.data))
    .filter((e): e is Envelope<Forecast> => e !== undefined && e.eventTime <= eventTime)
    .at(-1);
}
