/**
 * The guard's stable reason codes. Every verdict carries one, with the rule that decided and the
 * limit and value it compared; docs/orders.md lists them all (a test keeps the two in step).
 * Checks run in the order listed; the first that fails decides.
 */
export const RiskReason = {
  Ok: 'OK',
  UnknownPlan: 'UNKNOWN_PLAN',
  KillSwitch: 'KILL_SWITCH',
  Halted: 'HALTED',
  FutureTime: 'FUTURE_TIME',
  IntentExpired: 'INTENT_EXPIRED',
  VenueMismatch: 'VENUE_MISMATCH',
  InstrumentNotAllowed: 'INSTRUMENT_NOT_ALLOWED',
  DuplicateClientOrderId: 'DUPLICATE_CLIENT_ORDER_ID',
  CancelTargetUnknown: 'CANCEL_TARGET_UNKNOWN',
  InvalidOrder: 'INVALID_ORDER',
  ForecastMismatch: 'FORECAST_MISMATCH',
  ForecastUnknown: 'FORECAST_UNKNOWN',
  InstrumentUnavailable: 'INSTRUMENT_UNAVAILABLE',
  NoMarketData: 'NO_MARKET_DATA',
  StaleMarketData: 'STALE_MARKET_DATA',
  SizeBelowMinimum: 'SIZE_BELOW_MINIMUM',
  NotionalBelowMinimum: 'NOTIONAL_BELOW_MINIMUM',
  ReduceOnlyWouldIncrease: 'REDUCE_ONLY_WOULD_INCREASE',
  Reducing: 'REDUCING',
  DailyLoss: 'DAILY_LOSS',
  MaxDrawdown: 'MAX_DRAWDOWN',
  LossStreakCooldown: 'LOSS_STREAK_COOLDOWN',
  ForecastStale: 'FORECAST_STALE',
  ForecastMissing: 'FORECAST_MISSING',
  ForecastNotTradeable: 'FORECAST_NOT_TRADEABLE',
  PriceBand: 'PRICE_BAND',
  MaxNotional: 'MAX_NOTIONAL',
  MaxPosition: 'MAX_POSITION',
  MaxOpenOrders: 'MAX_OPEN_ORDERS',
  RatePerMinute: 'RATE_PER_MINUTE',
  RatePerHour: 'RATE_PER_HOUR',
  /** Last: it holds back only what every other check approved. */
  Reconciling: 'RECONCILING',
} as const;
export type RiskReason = (typeof RiskReason)[keyof typeof RiskReason];

/** What each code means, in the words docs/orders.md uses. */
export const RISK_REASON_MEANINGS: Readonly<Record<RiskReason, string>> = {
  OK: 'every check passed; the order is approved with its size and price rounded to the instrument',
  UNKNOWN_PLAN: 'no active plan has that name',
  KILL_SWITCH: 'the kill switch is thrown for the plan (`kokex risk halt`): nothing is approved, open orders are cancelled',
  HALTED: 'the plan is in trading state HALTED (its `risk.initialState`): nothing is approved',
  RECONCILING:
    "the executor has not yet compared the venue with ORDERS for one of the plan's instruments (`order.reconcile`: `reconciling` or `failed`; on demo and live, also none yet); cancels and reduce-only orders still pass",
  FUTURE_TIME:
    "the intent's market time (its envelope's `eventTime`) is more than one bar plus `futureToleranceMs` (guard setting, default 5 s) ahead of the plan's market clock",
  INTENT_EXPIRED: "the intent's market time is more than `risk.intentTtl` (default two bars) behind the plan's market clock",
  VENUE_MISMATCH: "the intent names another venue than the plan's",
  INSTRUMENT_NOT_ALLOWED: "the instrument is not in `risk.allowInstruments` (default: the plan's instrument)",
  DUPLICATE_CLIENT_ORDER_ID: 'another intent already used this client order id',
  CANCEL_TARGET_UNKNOWN:
    'a cancel request (`order.cancel`) names an order that is not one of the plan’s live orders on that instrument (never approved, already final, or of another plan)',
  INVALID_ORDER: 'a limit order without a price, or a market order with one',
  FORECAST_MISMATCH:
    "the intent's `basis` names a forecast of another instrument or timeframe than the intent's instrument and the plan's timeframe, or with another `asOf` than the stored one",
  FORECAST_UNKNOWN: "the intent's `basis` names a forecast id that is not stored on `kokex.forecast.{inst}.{tf}` (nor heard by the guard)",
  INSTRUMENT_UNAVAILABLE: 'no lot, tick and contract size for the instrument (the venue did not answer, or it is not live)',
  NO_MARKET_DATA: 'no candle of the plan timeframe has been seen for the instrument',
  STALE_MARKET_DATA: 'the last closed candle is more than `risk.maxDataAgeBars` bars old',
  SIZE_BELOW_MINIMUM: "after rounding down to the lot size the order is smaller than the venue's minimum",
  NOTIONAL_BELOW_MINIMUM: "an order that does not reduce the position is worth less than the venue's minimum notional",
  REDUCE_ONLY_WOULD_INCREASE: 'a reduce-only intent that would open, increase or flip the position',
  REDUCING: 'the plan is in trading state REDUCING (`kokex risk reduce`) and the order does not reduce the position',
  DAILY_LOSS: "today's loss (UTC day: realised, fees, open losses) reached `risk.maxDailyLoss`; only reducing orders pass",
  MAX_DRAWDOWN: 'equity is `risk.maxDrawdown` or more below its peak; only reducing orders pass',
  LOSS_STREAK_COOLDOWN: '`risk.lossStreak.losses` losing trades in a row; new positions wait `risk.lossStreak.cooldown`',
  FORECAST_STALE:
    'the forecast the intent acted on saw a bar more than `risk.maxDataAgeBars` bars before the last closed candle; only reducing orders pass',
  FORECAST_MISSING:
    'the intent names no forecast and there is none for the instrument and timeframe yet, and `risk.requireTradeableForecast` is on; only reducing orders pass',
  FORECAST_NOT_TRADEABLE:
    'the forecast the intent acted on (else the latest) is not tradeable (the skill gate), and `risk.requireTradeableForecast` is on; only reducing orders pass',
  PRICE_BAND:
    'the limit price is further than `risk.priceBand` from the last price, or from the last close of the forecast the intent acted on',
  MAX_NOTIONAL: 'the order notional is above `risk.maxNotional`',
  MAX_POSITION: 'the position after this order and the open orders on its side would be above `risk.maxPositionNotional`',
  MAX_OPEN_ORDERS: '`risk.maxOpenOrders` orders are open (approved and not yet filled, cancelled or rejected)',
  RATE_PER_MINUTE: '`risk.orderRate.perMinute` orders were approved in the last 60 seconds',
  RATE_PER_HOUR: '`risk.orderRate.perHour` orders were approved in the last hour',
};
