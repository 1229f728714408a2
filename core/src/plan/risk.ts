import { z } from 'zod';
import { instrumentToken } from '../contracts/tokens.js';
import { durationField, type RefinementParams, tokenField, uniqueListField } from './fields.js';
import { timeframeMs } from '../time/timeframe.js';
import { parseDuration } from './schedule.js';

export const TRADING_STATES = ['active', 'reducing', 'halted'] as const;
export type TradingState = (typeof TRADING_STATES)[number];

/**
 * Every number a plan holds is finite and inside a stated range: YAML's `.inf` and `1e308` parse
 * as numbers, and a guard that compares against Infinity approves everything.
 */
const MAX_QUOTE_AMOUNT = 1e12;
const positive = (description: string) => z.number().finite().positive().max(MAX_QUOTE_AMOUNT).describe(description);

/** Bounds of `risk.intentTtl`. */
export const INTENT_TTL_MIN_MS = 1000;
export const INTENT_TTL_MAX_MS = 30 * 86_400_000;

const orderRateSchema = z
  .object({
    perMinute: z.number().int().positive().max(10_000).default(6).describe('Orders per minute.'),
    perHour: z.number().int().positive().max(600_000).default(60).describe('Orders per hour.'),
  })
  .strict()
  .superRefine((rate, ctx) => {
    // A minute's allowance above the hour's can never be used: the plan means something else.
    if (rate.perMinute > rate.perHour) {
      const params: RefinementParams = {
        expected: `at most perHour (${rate.perHour})`,
        detail: 'a minute may not allow more orders than the hour; lower perMinute or raise perHour',
      };
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['perMinute'], message: 'perMinute above perHour', params });
    }
  })
  .describe('Order submission rate limits.');

const lossStreakSchema = z
  .object({
    losses: z.number().int().positive().max(1000).describe('Losing trades in a row that start a cooldown.'),
    cooldown: durationField('How long new positions are refused after the streak.'),
  })
  .strict()
  .describe('Cooldown after a streak of losing trades. Absent: no cooldown.');

/**
 * Limits the risk guard enforces. The three money limits have no defaults on purpose: a plan
 * that trades must say how much it may lose.
 */
export const riskSchema = z
  .object({
    maxNotional: positive('Largest order, as notional in the quote currency.'),
    maxPositionNotional: positive('Largest absolute position, as notional in the quote currency.'),
    maxDailyLoss: positive('Loss (realised and unrealised, quote currency) per UTC day that halts new risk.'),
    maxDrawdown: z
      .number()
      .gt(0)
      .max(1)
      .default(0.1)
      .describe('Drawdown from peak equity, as a fraction (0.1 = 10%), that halts new risk.'),
    maxOpenOrders: z.number().int().positive().max(1000).default(4).describe('Open orders at once.'),
    orderRate: orderRateSchema.default({}),
    priceBand: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.02)
      .describe('Largest distance of a limit price from the last price, as a fraction (0.02 = 2%).'),
    maxDataAgeBars: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(2)
      .describe('Market data older than this many bars counts as stale; orders are refused.'),
    requireTradeableForecast: z
      .boolean()
      .default(true)
      .describe('Refuse new risk while the latest forecast is not tradeable (the skill gate).'),
    allowInstruments: uniqueListField(
      tokenField(instrumentToken, 'instrument id', 'An instrument id.'),
      'instrument',
      "Instruments orders may be placed on. Default: the plan's instrument only.",
    ).optional(),
    lossStreak: lossStreakSchema.optional(),
    intentTtl: durationField(
      "How old (market time, from the intent's eventTime) an intent may be when the risk guard judges it; older ones are denied INTENT_EXPIRED. 1s to 30d. Default: two bars of the plan's timeframe.",
    ).optional(),
    initialState: z
      .enum(TRADING_STATES)
      .default('active')
      .describe('Trading state when the plan is first applied: active, reducing (reduce-only) or halted.'),
  })
  .strict()
  .superRefine((risk, ctx) => {
    const ttl = risk.intentTtl === undefined ? undefined : parseDuration(risk.intentTtl);
    if (ttl !== undefined && (ttl < INTENT_TTL_MIN_MS || ttl > INTENT_TTL_MAX_MS)) {
      const params: RefinementParams = {
        expected: 'a duration from 1s to 30d',
        detail: 'an intent must live long enough to be judged, and not so long that a stale decision still trades',
      };
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['intentTtl'], message: 'intentTtl out of range', params });
    }
    // The largest order that could ever pass is a full reversal, from the short limit to the long
    // limit: twice maxPositionNotional. A larger maxNotional contradicts the position limit.
    if (risk.maxNotional > 2 * risk.maxPositionNotional) {
      const params: RefinementParams = {
        expected: `at most twice maxPositionNotional (${2 * risk.maxPositionNotional})`,
        detail: 'no order, not even a full reversal of the largest position, could be that large',
      };
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxNotional'], message: 'maxNotional above twice maxPositionNotional', params });
    }
  })
  .describe('Limits the risk guard enforces on every order intent. Required.');

/**
 * How long an intent lives (`risk.intentTtl`, default two bars of the plan's timeframe): the guard
 * denies an older one INTENT_EXPIRED, and the inferencer of a replay does not forecast a bar whose
 * decision would reach the guard already that old.
 */
export function intentTtlMs(risk: { intentTtl?: string | undefined }, tf: string): number {
  return (risk.intentTtl === undefined ? undefined : parseDuration(risk.intentTtl)) ?? 2 * timeframeMs(tf);
}
