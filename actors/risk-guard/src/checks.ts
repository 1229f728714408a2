import { type InstrumentInfo, type OrderIntent, type OrderVerdict, type PlanRisk, parseDuration } from '@kokex/core';
import type { InstrumentQuote, LedgerValuation, PlanLedger } from './ledger.js';
import { RiskReason } from './reasons.js';
import { roundPrice, roundSize } from './rounding.js';
import type { ControlRecord } from './trading-state.js';

/**
 * The guard's decision as a pure function of the intent and what the guard knows: the plan's
 * limits, its trading state, its book, the instrument, the market and the forecast. Checks run in
 * a fixed order and the first that fails decides, so the same inputs always give the same verdict.
 * "New risk" is any order that does not shrink the position; the loss limits, the skill gate and
 * the REDUCING state stop only new risk.
 */
export interface GuardedPlan {
  plan: string;
  venue: string;
  /** Where approvals go (`paper` for paper plans, else the venue). */
  executionVenue: string;
  instruments: string[];
  risk: PlanRisk;
  /** Starting equity the drawdown is measured on (`venue.paper.balance`). */
  capital: number;
}

export interface MarketSnapshot {
  last: number;
  /** Bars since the last closed candle of the plan's timeframe closed. */
  ageBars: number;
}

export interface ForecastSnapshot {
  tradeable: boolean;
  reason: string;
}

export interface DecisionInput {
  intent: OrderIntent;
  plan: GuardedPlan | undefined;
  control: ControlRecord | undefined;
  ledger: PlanLedger;
  /** Whether any plan's intent used this client order id before (ids are unique per venue account). */
  clientOrderIdUsed: boolean;
  instrument: InstrumentInfo | undefined;
  market: MarketSnapshot | undefined;
  forecast: ForecastSnapshot | undefined;
  /** Prices and contract values of every instrument the book holds, for the loss limits. */
  quote: InstrumentQuote;
  now: number;
}

export type Decision = Omit<OrderVerdict, 'plan' | 'inst' | 'clientOrderId'> & { reduceOnly: boolean };

type Check = (c: CheckContext) => Decision | undefined;

interface CheckContext extends DecisionInput {
  plan: GuardedPlan;
  instrument: InstrumentInfo;
  market: MarketSnapshot;
  size: number;
  price: number | undefined;
  /** Signed position before the order, and whether the order shrinks it without flipping. */
  position: number;
  reduces: boolean;
  valuation: () => LedgerValuation | { missing: string };
}

function deny(reason: RiskReason, rule: string, message: string, limit?: number | string, value?: number | string): Decision {
  return {
    decision: 'deny',
    reason,
    rule,
    message,
    reduceOnly: false,
    ...(limit !== undefined ? { limit } : {}),
    ...(value !== undefined ? { value } : {}),
  };
}

const fmt = (n: number) => Number(n.toPrecision(8)).toString();

/** A cancel is an intent too (the agent's `cancel_order`): `refs.action: cancel`, `refs.cancel` the order's client order id. */
export function cancelTarget(intent: OrderIntent): string | undefined {
  return intent.refs.action === 'cancel' && intent.refs.cancel ? intent.refs.cancel : undefined;
}

/**
 * A cancel takes risk away, so it passes whatever the state (halted and killed plans included) and
 * whatever the limits; it needs only a plan, a fresh client order id, and an open order to cancel.
 */
function evaluateCancel(input: DecisionInput, target: string): Decision {
  const { intent, plan } = input;
  if (!plan) return deny(RiskReason.UnknownPlan, 'plan', `no active plan named ${intent.plan}`, undefined, intent.plan);
  if (intent.venue !== plan.venue)
    return deny(RiskReason.VenueMismatch, 'venue', `plan ${plan.plan} trades on ${plan.venue}`, plan.venue, intent.venue);
  if (input.clientOrderIdUsed)
    return deny(RiskReason.DuplicateClientOrderId, 'clientOrderId', `client order id ${intent.clientOrderId} was used before`);
  const order = input.ledger.orders.get(target);
  if (!order || order.state === 'closed') {
    return deny(
      RiskReason.CancelTargetUnknown,
      'refs.cancel',
      `plan ${plan.plan} has no open order ${target}`,
      'open',
      order ? 'closed' : 'unknown',
    );
  }
  return { decision: 'approve', reason: RiskReason.Ok, rule: 'cancel', message: `approved cancel of ${target}`, reduceOnly: true };
}

/** Checks that need nothing but the plan and the state; they run before any market lookup. */
function preflight(input: DecisionInput): Decision | undefined {
  const { intent, plan, control } = input;
  if (!plan) return deny(RiskReason.UnknownPlan, 'plan', `no active plan named ${intent.plan}`, undefined, intent.plan);
  if (control?.killSwitch) {
    return deny(RiskReason.KillSwitch, 'killSwitch', `kill switch thrown by ${control.by}: ${control.reason}`, 'off', 'on');
  }
  const state = control?.state ?? plan.risk.initialState;
  if (state === 'halted') return deny(RiskReason.Halted, 'tradingState', `plan ${plan.plan} is halted`, 'active', state);
  if (intent.venue !== plan.venue) {
    return deny(RiskReason.VenueMismatch, 'venue', `plan ${plan.plan} trades on ${plan.venue}`, plan.venue, intent.venue);
  }
  if (!plan.instruments.includes(intent.inst)) {
    return deny(
      RiskReason.InstrumentNotAllowed,
      'risk.allowInstruments',
      `${intent.inst} is not among ${plan.instruments.join(', ')}`,
      plan.instruments.join(','),
      intent.inst,
    );
  }
  if (input.clientOrderIdUsed) {
    return deny(RiskReason.DuplicateClientOrderId, 'clientOrderId', `client order id ${intent.clientOrderId} was used before`);
  }
  if (intent.type === 'limit' && intent.price === undefined) return deny(RiskReason.InvalidOrder, 'price', 'a limit order needs a price');
  if (intent.type === 'market' && intent.price !== undefined) {
    return deny(RiskReason.InvalidOrder, 'price', 'a market order takes no price', undefined, intent.price);
  }
  return undefined;
}

const CHECKS: Check[] = [
  ({ size, instrument }) =>
    size < instrument.minSize
      ? deny(
          RiskReason.SizeBelowMinimum,
          'instrument.minSize',
          `size ${size} (rounded to the lot ${instrument.lotSize}) is below the minimum ${instrument.minSize}`,
          instrument.minSize,
          size,
        )
      : undefined,
  ({ intent, reduces, position }) =>
    intent.reduceOnly && !reduces
      ? deny(
          RiskReason.ReduceOnlyWouldIncrease,
          'reduceOnly',
          `a reduce-only ${intent.side} of ${intent.size} does not reduce a position of ${position}`,
          Math.abs(position),
          intent.size,
        )
      : undefined,
  ({ control, plan, reduces }) =>
    (control?.state ?? plan.risk.initialState) === 'reducing' && !reduces
      ? deny(
          RiskReason.Reducing,
          'tradingState',
          `plan ${plan.plan} is reducing: only orders that shrink the position pass`,
          'reducing',
          'increase',
        )
      : undefined,
  (c) => {
    if (c.reduces) return undefined;
    const value = c.valuation();
    if ('missing' in value) {
      // A book that cannot be valued cannot be held to its loss limits: no new risk until it can.
      return deny(
        RiskReason.InstrumentUnavailable,
        'instrument',
        `no price or contract value for ${value.missing} to value the book`,
        'known',
        value.missing,
      );
    }
    const { risk } = c.plan;
    if (-value.dailyPnl >= risk.maxDailyLoss) {
      return deny(
        RiskReason.DailyLoss,
        'risk.maxDailyLoss',
        `today's loss ${fmt(-value.dailyPnl)} reached ${risk.maxDailyLoss}`,
        risk.maxDailyLoss,
        fmt(-value.dailyPnl),
      );
    }
    if (value.drawdown >= risk.maxDrawdown) {
      return deny(
        RiskReason.MaxDrawdown,
        'risk.maxDrawdown',
        `drawdown ${fmt(value.drawdown)} reached ${risk.maxDrawdown}`,
        risk.maxDrawdown,
        fmt(value.drawdown),
      );
    }
    const streak = risk.lossStreak;
    if (streak && value.lossStreak >= streak.losses && value.lastLossAt !== undefined) {
      const until = value.lastLossAt + (parseDuration(streak.cooldown) ?? 0);
      if (c.now < until) {
        return deny(
          RiskReason.LossStreakCooldown,
          'risk.lossStreak',
          `${value.lossStreak} losing trades in a row; new positions wait until ${new Date(until).toISOString()}`,
          streak.losses,
          value.lossStreak,
        );
      }
    }
    return undefined;
  },
  ({ reduces, plan, forecast, intent }) => {
    if (reduces || !plan.risk.requireTradeableForecast) return undefined;
    if (!forecast)
      return deny(RiskReason.ForecastMissing, 'risk.requireTradeableForecast', `no forecast for ${intent.inst} yet`, 'tradeable', 'none');
    return forecast.tradeable
      ? undefined
      : deny(
          RiskReason.ForecastNotTradeable,
          'risk.requireTradeableForecast',
          `the latest forecast is not tradeable: ${forecast.reason}`,
          'tradeable',
          'not tradeable',
        );
  },
  ({ price, market, plan }) => {
    if (price === undefined) return undefined;
    const distance = Math.abs(price - market.last) / market.last;
    return distance > plan.risk.priceBand
      ? deny(
          RiskReason.PriceBand,
          'risk.priceBand',
          `price ${price} is ${fmt(distance)} from the last price ${market.last}`,
          plan.risk.priceBand,
          fmt(distance),
        )
      : undefined;
  },
  ({ size, price, market, instrument, plan }) => {
    const notional = size * instrument.contractValue * (price ?? market.last);
    return notional > plan.risk.maxNotional
      ? deny(
          RiskReason.MaxNotional,
          'risk.maxNotional',
          `order notional ${fmt(notional)} is above ${plan.risk.maxNotional}`,
          plan.risk.maxNotional,
          fmt(notional),
        )
      : undefined;
  },
  ({ reduces, intent, size, position, ledger, instrument, price, market, plan }) => {
    if (reduces) return undefined;
    const sign = intent.side === 'buy' ? 1 : -1;
    const projected = position + sign * (size + ledger.openSize(intent.inst, intent.side, false));
    const notional = Math.abs(projected) * instrument.contractValue * (price ?? market.last);
    return Math.abs(projected) > Math.abs(position) && notional > plan.risk.maxPositionNotional
      ? deny(
          RiskReason.MaxPosition,
          'risk.maxPositionNotional',
          `position ${fmt(projected)} (with open orders) would be ${fmt(notional)} notional, above ${plan.risk.maxPositionNotional}`,
          plan.risk.maxPositionNotional,
          fmt(notional),
        )
      : undefined;
  },
  ({ ledger, plan }) => {
    const open = ledger.openOrders().length;
    return open >= plan.risk.maxOpenOrders
      ? deny(RiskReason.MaxOpenOrders, 'risk.maxOpenOrders', `${open} orders are open`, plan.risk.maxOpenOrders, open)
      : undefined;
  },
  ({ ledger, plan, now }) => {
    // The hour first: when both bind, the hour's limit is the one that lasts, so it is the one named.
    const hour = ledger.approvalsSince(now - 3_600_000);
    if (hour >= plan.risk.orderRate.perHour) {
      return deny(RiskReason.RatePerHour, 'risk.orderRate.perHour', `${hour} orders in the last hour`, plan.risk.orderRate.perHour, hour);
    }
    const minute = ledger.approvalsSince(now - 60_000);
    return minute >= plan.risk.orderRate.perMinute
      ? deny(RiskReason.RatePerMinute, 'risk.orderRate.perMinute', `${minute} orders in the last minute`, plan.risk.orderRate.perMinute, minute)
      : undefined;
  },
];

export function evaluateIntent(input: DecisionInput): Decision {
  const target = cancelTarget(input.intent);
  if (target) return evaluateCancel(input, target);
  const early = preflight(input);
  if (early) return early;
  const plan = input.plan as GuardedPlan;
  const { intent, instrument, market, ledger } = input;
  if (instrument?.state !== 'live') {
    return deny(
      RiskReason.InstrumentUnavailable,
      'instrument',
      instrument ? `${intent.inst} is ${instrument.state}` : `no metadata for ${intent.inst}`,
      'live',
      instrument?.state ?? 'unknown',
    );
  }
  if (!market) return deny(RiskReason.NoMarketData, 'marketData', `no candle of ${intent.inst} seen yet`);
  if (market.ageBars > plan.risk.maxDataAgeBars) {
    return deny(
      RiskReason.StaleMarketData,
      'risk.maxDataAgeBars',
      `the last candle is ${fmt(market.ageBars)} bars old`,
      plan.risk.maxDataAgeBars,
      fmt(market.ageBars),
    );
  }
  const size = roundSize(intent.size, instrument.lotSize);
  const price = intent.price === undefined ? undefined : roundPrice(intent.price, instrument.tickSize, intent.side);
  const position = ledger.position(intent.inst).qty;
  const opposite = intent.side === 'buy' ? position < 0 : position > 0;
  // Reduce-only orders already working count against what is left to reduce.
  const reducible = Math.abs(position) - ledger.openSize(intent.inst, intent.side, true);
  const reduces = opposite && size <= reducible + 1e-12;
  let valued: LedgerValuation | { missing: string } | undefined;
  const context: CheckContext = {
    ...input,
    plan,
    instrument,
    market,
    size,
    price,
    position,
    reduces,
    valuation: () => {
      valued ??= ledger.valuation(input.now, plan.capital, input.quote);
      return valued;
    },
  };
  for (const check of CHECKS) {
    const denial = check(context);
    if (denial) return denial;
  }
  const state = input.control?.state ?? plan.risk.initialState;
  return {
    decision: 'approve',
    reason: RiskReason.Ok,
    rule: 'all',
    message: `approved ${intent.side} ${size} ${intent.inst}${price !== undefined ? ` at ${price}` : ''}`,
    size,
    ...(price !== undefined ? { price } : {}),
    // A reducing plan's orders go out reduce-only, so a fill can never turn them into new risk.
    reduceOnly: intent.reduceOnly || state === 'reducing',
  };
}
