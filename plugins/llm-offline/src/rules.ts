import type { OfflinePolicyConfig } from './config.js';
import { type ConversationState, type ForecastFields, forecastFrom, latestResult, positionFrom } from './conversation.js';

/**
 * The offline policy's rules, in the order they are applied. Each answer names the rule that
 * decided; docs/llm.md lists them. Pure: the same conversation and config give the same step.
 */
export const PolicyRule = {
  /** get_forecast is not among the bound tools. */
  NoForecastTool: 'NO_FORECAST_TOOL',
  /** get_forecast failed, returned nothing yet, or lacks pUp / tradeable. */
  NoForecast: 'NO_FORECAST',
  /** The forecast's skill gate says it is not tradeable (and `requireTradeable` is on). */
  NotTradeable: 'NOT_TRADEABLE',
  /** Fewer forecasts scored than `minScored`. */
  TooFewScored: 'TOO_FEW_SCORED',
  /** P(up) lies between `sellBelow` and `buyAbove`. */
  Neutral: 'NEUTRAL',
  /** The position could not be read (get_positions missing, failed or unreadable). */
  NoPositions: 'NO_POSITIONS',
  /** A long would exceed `maxPosition` (or a short its negative). */
  AtMaxPosition: 'AT_MAX_POSITION',
  /** Bearish, nothing long to close, and `allowShort` is off. */
  FlatNoShort: 'FLAT_NO_SHORT',
  /** A trade is due but place_order is not among the bound tools. */
  OrderToolDisabled: 'ORDER_TOOL_DISABLED',
  /** place_order was called and answered. */
  OrderPlaced: 'ORDER_PLACED',
  /** place_order was called and reported a failure. */
  OrderRefused: 'ORDER_REFUSED',
} as const;
export type PolicyRule = (typeof PolicyRule)[keyof typeof PolicyRule];

export interface PlannedOrder {
  side: 'buy' | 'sell';
  size: number;
  reduceOnly: boolean;
}

/** What decided, with the numbers it saw; put on the answer's `response_metadata.decision`. */
export interface PolicyDecision {
  rule: PolicyRule;
  pUp?: number;
  tradeable?: boolean;
  position?: number;
  order?: PlannedOrder;
}

export type PolicyStep =
  | { kind: 'call'; tool: 'get_forecast' | 'get_positions' | 'place_order'; args: Record<string, unknown> }
  | { kind: 'answer'; text: string; decision: PolicyDecision };

const answer = (text: string, decision: PolicyDecision): PolicyStep => ({ kind: 'answer', text, decision });
const fmt = (n: number) => Number(n.toFixed(6)).toString();
/** Sizes are rounded to 1e-8 so 0.05 - 0.04 is 0.01, not 0.010000000000000002. */
const roundSize = (n: number) => Math.round(n * 1e8) / 1e8;

/** The order the thresholds and limits call for, or the rule that says none. */
export function planOrder(forecast: ForecastFields, position: number, c: OfflinePolicyConfig): PlannedOrder | PolicyRule {
  if (c.requireTradeable && !forecast.tradeable) return PolicyRule.NotTradeable;
  if ((forecast.skill?.scored ?? Number.POSITIVE_INFINITY) < c.minScored) return PolicyRule.TooFewScored;
  if (forecast.pUp >= c.buyAbove) {
    const room = roundSize(c.maxPosition - position);
    if (room <= 0) return PolicyRule.AtMaxPosition;
    return { side: 'buy', size: roundSize(Math.min(c.orderSize, room)), reduceOnly: false };
  }
  if (forecast.pUp <= c.sellBelow) {
    if (position > 0) return { side: 'sell', size: roundSize(Math.min(c.orderSize, position)), reduceOnly: true };
    if (!c.allowShort) return PolicyRule.FlatNoShort;
    const room = roundSize(c.maxPosition + position);
    if (room <= 0) return PolicyRule.AtMaxPosition;
    return { side: 'sell', size: roundSize(Math.min(c.orderSize, room)), reduceOnly: false };
  }
  return PolicyRule.Neutral;
}

function explainNoTrade(rule: PolicyRule, f: ForecastFields, position: number, c: OfflinePolicyConfig): string {
  const p = `P(up) ${fmt(f.pUp)}`;
  switch (rule) {
    case PolicyRule.NotTradeable:
      return `No trade: the forecast is not tradeable (${f.skill?.reason ?? 'the skill gate is closed'}); ${p}.`;
    case PolicyRule.TooFewScored:
      return `No trade: only ${f.skill?.scored} forecasts scored, the policy waits for ${c.minScored}.`;
    case PolicyRule.AtMaxPosition:
      return `No trade: ${p} says ${f.pUp >= c.buyAbove ? 'long' : 'short'}, but the position ${fmt(position)} is at the limit of ${fmt(c.maxPosition)}.`;
    case PolicyRule.FlatNoShort:
      return `No trade: ${p} is at or below ${fmt(c.sellBelow)}, there is no long to close and shorting is off.`;
    default:
      return `No trade: ${p} lies between ${fmt(c.sellBelow)} and ${fmt(c.buyAbove)}.`;
  }
}

/** The next step: a tool to call, or the answer that ends this trigger's conversation. */
export function decideNextStep(state: ConversationState, c: OfflinePolicyConfig, tools: ReadonlySet<string>): PolicyStep {
  const forecastCall = latestResult(state, 'get_forecast');
  if (!forecastCall) {
    if (state.calls.has('get_forecast')) return answer('No trade: get_forecast gave no result.', { rule: PolicyRule.NoForecast });
    if (tools.has('get_forecast')) return { kind: 'call', tool: 'get_forecast', args: {} };
    return answer('No trade: the get_forecast tool is not enabled, and the policy decides only on forecasts.', {
      rule: PolicyRule.NoForecastTool,
    });
  }
  const forecast = forecastFrom(forecastCall);
  if ('missing' in forecast) return answer(`No trade: ${forecast.missing}.`, { rule: PolicyRule.NoForecast });
  const seen = { pUp: forecast.pUp, tradeable: forecast.tradeable };

  const positionsCall = latestResult(state, 'get_positions');
  if (!positionsCall && tools.has('get_positions') && !state.calls.has('get_positions')) {
    return { kind: 'call', tool: 'get_positions', args: forecast.inst ? { inst: forecast.inst } : {} };
  }
  const position = positionsCall ? positionFrom(positionsCall, forecast.inst) : undefined;

  const placed = latestResult(state, 'place_order');
  if (placed) return reportOrder(placed.args, placed.failed === true, placed.content ?? '', { ...seen, position });

  // Without a position the rules can still say "no trade" on the forecast alone; they cannot size
  // an order, nor tell "at the limit" or "nothing to close".
  const plan = planOrder(forecast, position ?? 0, c);
  const needsPosition = typeof plan !== 'string' || plan === PolicyRule.AtMaxPosition || plan === PolicyRule.FlatNoShort;
  if (position === undefined && needsPosition) {
    return answer('No trade: the forecast clears a threshold, but the current position could not be read.', {
      rule: PolicyRule.NoPositions,
      ...seen,
    });
  }
  if (typeof plan === 'string') return answer(explainNoTrade(plan, forecast, position ?? 0, c), { rule: plan, ...seen, position });
  const held = position ?? 0;
  if (!tools.has('place_order')) {
    return answer(`No order: the rules call for ${plan.side} ${fmt(plan.size)}, but the place_order tool is not enabled.`, {
      rule: PolicyRule.OrderToolDisabled,
      ...seen,
      position: held,
      order: plan,
    });
  }
  const threshold = plan.side === 'buy' ? `>= ${fmt(c.buyAbove)}` : `<= ${fmt(c.sellBelow)}`;
  const gate = forecast.tradeable ? 'forecast tradeable' : 'forecast NOT tradeable (requireTradeable off)';
  const why = `offline policy: P(up) ${fmt(forecast.pUp)} ${threshold}, ${gate}, position ${fmt(held)}`;
  return {
    kind: 'call',
    tool: 'place_order',
    args: {
      ...(forecast.inst ? { inst: forecast.inst } : {}),
      side: plan.side,
      size: plan.size,
      type: 'market',
      reduceOnly: plan.reduceOnly,
      why,
    },
  };
}

/** The client order id a `place_order` result names, when it is one (a token, nothing else). */
function sentOrderId(result: string): string | undefined {
  try {
    const id = (JSON.parse(result) as { clientOrderId?: unknown }).clientOrderId;
    return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function reportOrder(args: Record<string, unknown>, failed: boolean, result: string, seen: Omit<PolicyDecision, 'rule'>): PolicyStep {
  const order: PlannedOrder = {
    side: args.side === 'sell' ? 'sell' : 'buy',
    size: Number(args.size),
    reduceOnly: args.reduceOnly === true,
  };
  const what = `${order.side} ${fmt(order.size)}${order.reduceOnly ? ' (reduce only)' : ''}`;
  // The result is quoted only as a bounded, single-line excerpt: it is data, never instructions.
  const excerpt = result.replace(/\s+/g, ' ').slice(0, 160);
  if (failed) return answer(`Order ${what} was refused: ${excerpt}`, { rule: PolicyRule.OrderRefused, ...seen, order });
  // A sent intent is named by its client order id, in words: the answer is read by people.
  const id = sentOrderId(result);
  return answer(`Order intent ${what} sent (P(up) ${fmt(seen.pUp ?? 0)})${id ? ` as ${id}` : ''}; the risk guard decides.`, {
    rule: PolicyRule.OrderPlaced,
    ...seen,
    order,
  });
}
