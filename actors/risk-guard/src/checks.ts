import {
  intentTtlMs,
  type CancelRequest,
  type CancelVerdict,
  type ControlRecord,
  type InstrumentInfo,
  type OrderIntent,
  type OrderVerdict,
  parseDuration,
  type PlanRisk,
  subject,
  timeframeMs,
} from '@kokex/core';
import type { InstrumentQuote, LedgerValuation, PlanLedger } from './ledger.js';
import { RiskReason } from './reasons.js';
import { roundPrice, roundSize } from './rounding.js';

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
  /** The forecast's envelope id, series and bar (what an intent's `basis` is compared with). */
  id?: string;
  inst?: string;
  tf?: string;
  asOf?: number;
  /** The close of the bar it saw: a limit price is held to the price band around it too. */
  lastClose?: number;
  /** Bars between the bar it saw and the last closed candle of its series (0: made on the newest bar). */
  barsBehind?: number;
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
  /**
   * The forecast the intent is judged against: the one its `basis` names (undefined when the guard
   * could not find it), else the latest of the plan's series.
   */
  forecast: ForecastSnapshot | undefined;
  /** The plan's timeframe: a forecast basis must be of the plan's series. */
  tf?: string;
  /** Prices and contract values of every instrument the book holds, for the loss limits. */
  quote: InstrumentQuote;
  /**
   * Market time the intent is judged at (rates, cooldowns, the loss day, data age): its own
   * `eventTime`, never earlier than the plan's last approval.
   */
  now: number;
  /** The intent's market time (its envelope's `eventTime`); with `marketNow`, checked for the future and expiry. */
  eventTime?: number;
  /** The plan's market clock when the intent is judged; undefined before a replay's first candle. */
  marketNow?: number;
  /** Slack beyond one bar for an intent ahead of the market clock (ms). Default 5,000. */
  futureToleranceMs?: number;
}

/**
 * Whether an intent's market time is believable: not more than one bar plus the tolerance ahead
 * of the market clock (a forged or broken stamp), not older than the plan's intent TTL.
 */
function timeCheck(input: DecisionInput, plan: GuardedPlan): Decision | undefined {
  const { eventTime, marketNow } = input;
  if (eventTime === undefined || marketNow === undefined) return undefined;
  const tf = input.tf ?? '1m';
  const ahead = eventTime - marketNow;
  const slack = timeframeMs(tf) + (input.futureToleranceMs ?? 5000);
  if (ahead > slack) {
    return deny(
      RiskReason.FutureTime,
      'eventTime',
      `the intent says it speaks for ${new Date(eventTime).toISOString()}, ${fmt(ahead / 1000)} s ahead of the market clock (${new Date(marketNow).toISOString()})`,
      slack,
      ahead,
    );
  }
  const ttl = intentTtlMs(plan.risk, tf);
  if (-ahead > ttl) {
    return deny(
      RiskReason.IntentExpired,
      'risk.intentTtl',
      `the intent is ${fmt(-ahead / 1000)} s old in market time; intents live ${fmt(ttl / 1000)} s`,
      ttl,
      -ahead,
    );
  }
  return undefined;
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

/** Checks that need nothing but the plan and the state; they run before any market lookup. */
function preflight(input: DecisionInput): Decision | undefined {
  const { intent, plan, control } = input;
  if (!plan) return deny(RiskReason.UnknownPlan, 'plan', `no active plan named ${intent.plan}`, undefined, intent.plan);
  if (control?.killSwitch) {
    return deny(RiskReason.KillSwitch, 'killSwitch', `kill switch thrown by ${control.by}: ${control.reason}`, 'off', 'on');
  }
  const state = control?.state ?? plan.risk.initialState;
  if (state === 'halted') return deny(RiskReason.Halted, 'tradingState', `plan ${plan.plan} is halted`, 'active', state);
  const late = timeCheck(input, plan);
  if (late) return late;
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
  return basisCheck(input);
}

/**
 * An intent that names a forecast is judged against that forecast, so the forecast must exist and
 * be of the intent's series. Whether it reduces or not: a basis that does not hold up is a bug or a
 * forgery, and the guard cannot judge an intent whose grounds it cannot see. Intents resting on a
 * trigger or a person (`trigger`, `manual`) are judged against the latest forecast, as before.
 */
function basisCheck(input: DecisionInput): Decision | undefined {
  const { intent, forecast } = input;
  const basis = intent.basis;
  if (basis.kind !== 'forecast') return undefined;
  const tf = input.tf ?? basis.tf;
  if (basis.inst !== intent.inst || basis.tf !== tf) {
    return deny(
      RiskReason.ForecastMismatch,
      'basis',
      `the intent on ${intent.inst} names forecast ${basis.id} of ${basis.inst} ${basis.tf}; the plan trades ${intent.inst} ${tf}`,
      `${intent.inst} ${tf}`,
      `${basis.inst} ${basis.tf}`,
    );
  }
  if (!forecast) {
    return deny(
      RiskReason.ForecastUnknown,
      'basis',
      `no forecast ${basis.id} is stored on ${subject('forecast', { inst: basis.inst, tf: basis.tf })}`,
      'stored',
      basis.id,
    );
  }
  if (forecast.inst !== basis.inst || forecast.tf !== basis.tf || forecast.asOf !== basis.asOf) {
    return deny(
      RiskReason.ForecastMismatch,
      'basis',
      `forecast ${basis.id} is of ${forecast.inst} ${forecast.tf} bar ${forecast.asOf}; the intent says ${basis.inst} ${basis.tf} bar ${basis.asOf}`,
      `${forecast.inst} ${forecast.tf} ${forecast.asOf}`,
      `${basis.inst} ${basis.tf} ${basis.asOf}`,
    );
  }
  return undefined;
}

/** What a cancel decision needs: the plan, its trading-state record and its book. */
export interface CancelInput {
  request: CancelRequest;
  plan: GuardedPlan | undefined;
  control: ControlRecord | undefined;
  ledger: PlanLedger;
}

export type CancelDecision = Omit<CancelVerdict, 'plan' | 'inst' | 'cancelId' | 'clientOrderId'>;

/**
 * A cancel takes risk away, so, as NautilusTrader lets cancels bypass the pre-trade checks, it is
 * held to two things only: it is this plan's (the plan exists, the venue is the plan's, and the
 * order is one of the plan's live orders on that instrument), and the kill switch. A thrown kill
 * switch does not stop a cancel: the executor's sweep is already cancelling the plan's orders,
 * and a cancel approved beside it is harmless, whereas a denied one could leave an order the sweep
 * missed resting. The verdict says the switch is thrown. No limit, rate or trading state applies.
 */
export function evaluateCancel(input: CancelInput): CancelDecision {
  const { request, plan, control } = input;
  const no = (reason: RiskReason, rule: string, message: string): CancelDecision => ({ decision: 'deny', reason, rule, message });
  if (!plan) return no(RiskReason.UnknownPlan, 'plan', `no active plan named ${request.plan}`);
  if (request.venue !== plan.venue)
    return no(RiskReason.VenueMismatch, 'venue', `plan ${plan.plan} trades on ${plan.venue}, not ${request.venue}`);
  const order = input.ledger.orders.get(request.clientOrderId);
  if (!order || order.state === 'closed' || order.inst !== request.inst) {
    const what = !order
      ? 'never approved for it'
      : order.state === 'closed'
        ? `already final (${order.lastEvent ?? 'closed'})`
        : `on ${order.inst}`;
    return no(
      RiskReason.CancelTargetUnknown,
      'clientOrderId',
      `${request.clientOrderId} is not a live order of plan ${plan.plan} on ${request.inst}: ${what}`,
    );
  }
  const killed = control?.killSwitch === true;
  return {
    decision: 'approve',
    reason: RiskReason.Ok,
    rule: killed ? 'killSwitch' : 'cancel',
    message: killed
      ? `approved cancel of ${request.clientOrderId}; the kill switch is thrown, so the executor is cancelling the plan's orders as well`
      : `approved cancel of ${request.clientOrderId}`,
  };
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
    // Only a forecast the intent named: the latest one is by definition the newest there is.
    if (reduces || intent.basis.kind !== 'forecast' || forecast?.barsBehind === undefined) return undefined;
    return forecast.barsBehind > plan.risk.maxDataAgeBars
      ? deny(
          RiskReason.ForecastStale,
          'risk.maxDataAgeBars',
          `forecast ${intent.basis.id} saw a bar ${fmt(forecast.barsBehind)} bars before the last closed candle`,
          plan.risk.maxDataAgeBars,
          fmt(forecast.barsBehind),
        )
      : undefined;
  },
  ({ reduces, plan, forecast, intent }) => {
    if (reduces || !plan.risk.requireTradeableForecast) return undefined;
    if (!forecast)
      return deny(RiskReason.ForecastMissing, 'risk.requireTradeableForecast', `no forecast for ${intent.inst} yet`, 'tradeable', 'none');
    const which = intent.basis.kind === 'forecast' ? `the forecast the intent acted on (${intent.basis.id})` : 'the latest forecast';
    return forecast.tradeable
      ? undefined
      : deny(
          RiskReason.ForecastNotTradeable,
          'risk.requireTradeableForecast',
          `${which} is not tradeable: ${forecast.reason}`,
          'tradeable',
          'not tradeable',
        );
  },
  ({ price, market, plan, forecast, intent }) => {
    if (price === undefined) return undefined;
    const distance = Math.abs(price - market.last) / market.last;
    if (distance > plan.risk.priceBand) {
      return deny(
        RiskReason.PriceBand,
        'risk.priceBand',
        `price ${price} is ${fmt(distance)} from the last price ${market.last}`,
        plan.risk.priceBand,
        fmt(distance),
      );
    }
    // The price the decision saw: a limit far from the forecast's close was not decided on that forecast.
    const seen = intent.basis.kind === 'forecast' ? forecast?.lastClose : undefined;
    if (seen === undefined) return undefined;
    const fromSeen = Math.abs(price - seen) / seen;
    return fromSeen > plan.risk.priceBand
      ? deny(
          RiskReason.PriceBand,
          'risk.priceBand',
          `price ${price} is ${fmt(fromSeen)} from the last close ${seen} of the forecast the intent acted on`,
          plan.risk.priceBand,
          fmt(fromSeen),
        )
      : undefined;
  },
  // The venue's floor (Binance MIN_NOTIONAL): refused here with the rule, not by the venue after
  // the approval. A closing order is exempt, as the venues exempt reduce-only orders.
  ({ size, price, market, instrument, reduces }) => {
    if (reduces || instrument.minNotional === undefined) return undefined;
    const notional = size * instrument.contractValue * (price ?? market.last);
    return notional < instrument.minNotional
      ? deny(
          RiskReason.NotionalBelowMinimum,
          'instrument.minNotional',
          `order notional ${fmt(notional)} is below the venue's minimum ${instrument.minNotional}`,
          instrument.minNotional,
          fmt(notional),
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
      ? deny(
          RiskReason.RatePerMinute,
          'risk.orderRate.perMinute',
          `${minute} orders in the last minute`,
          plan.risk.orderRate.perMinute,
          minute,
        )
      : undefined;
  },
];

export function evaluateIntent(input: DecisionInput): Decision {
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
