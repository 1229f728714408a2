import { applyTradingCommand, initialControl, intentTtlMs, ledgerSnapshotSchema } from '@kokex/core';
import type { ApprovedOrder, InstrumentInfo, OrderEvent, OrderIntent, PlanRisk } from '@kokex/core';
import { approvingVerdict } from '@kokex/core/testing';
import { describe, expect, it } from 'vitest';
import { evaluateIntent, type GuardedPlan, PlanLedger, RiskReason, roundPrice, roundSize } from '../src/index.js';
import { intentOf, orderPlan, SWAP } from './support.js';

const NOW = Date.UTC(2026, 0, 5, 12);
const INSTRUMENT: InstrumentInfo = {
  venue: 'okx',
  inst: SWAP,
  instType: 'SWAP',
  tickSize: 0.1,
  lotSize: 0.01,
  minSize: 0.01,
  contractValue: 0.01,
  state: 'live',
};
const RISK: PlanRisk = {
  maxNotional: 1000,
  maxPositionNotional: 3000,
  maxDailyLoss: 100,
  maxDrawdown: 0.1,
  maxOpenOrders: 4,
  orderRate: { perMinute: 6, perHour: 60 },
  priceBand: 0.02,
  maxDataAgeBars: 2,
  requireTradeableForecast: true,
  initialState: 'active',
};
const PLAN: GuardedPlan = { plan: 'p', venue: 'okx', executionVenue: 'okx', instruments: [SWAP], risk: RISK, capital: 10_000 };

const intent = (fields: Partial<OrderIntent> = {}) => intentOf('p', fields);

function decide(i: OrderIntent, ledger = new PlanLedger('p'), extra: Partial<Parameters<typeof evaluateIntent>[0]> = {}) {
  return evaluateIntent({
    intent: i,
    plan: PLAN,
    control: undefined,
    ledger,
    clientOrderIdUsed: false,
    instrument: INSTRUMENT,
    market: { last: 40_000, ageBars: 0.5 },
    forecast: { tradeable: true, reason: 'ok' },
    quote: () => ({ price: 40_000, contractValue: 0.01 }),
    now: NOW,
    ...extra,
  });
}

const fill = (
  id: string,
  side: 'buy' | 'sell',
  size: number,
  price: number,
  fee: number,
  fields: Partial<OrderEvent> = {},
): OrderEvent => ({
  venue: 'okx',
  inst: SWAP,
  plan: 'p',
  clientOrderId: id,
  kind: 'filled',
  side,
  size,
  filledSize: size,
  avgPrice: price,
  fill: { price, size, fee },
  venueTs: NOW,
  receivedAt: NOW,
  ...fields,
});

describe('lot and tick rounding', () => {
  it('rounds sizes down to the lot and prices away from the market, without float noise', () => {
    expect(roundSize(1.239, 0.01)).toBe(1.23);
    expect(roundSize(0.3, 0.1)).toBe(0.3);
    expect(roundSize(0.00999, 0.01)).toBe(0);
    expect(roundPrice(40_000.06, 0.1, 'buy')).toBe(40_000);
    expect(roundPrice(40_000.01, 0.1, 'sell')).toBe(40_000.1);
    expect(roundPrice(0.1 + 0.2, 0.1, 'sell')).toBe(0.3);
    expect(roundSize(3.7, 1e-8)).toBe(3.7);
  });
});

/** Books the guard's verdict and its approval, as the guard stores them. */
function approve(ledger: PlanLedger, order: ApprovedOrder, at: number): void {
  ledger.recordDecision(`intent-${order.clientOrderId}`, approvingVerdict(order), at);
  expect(ledger.recordApproval(order, at)).toBe(true);
}

const marketOrder = (clientOrderId: string, side: 'buy' | 'sell', size: number): ApprovedOrder => ({
  plan: 'p',
  venue: 'okx',
  inst: SWAP,
  side,
  size,
  type: 'market',
  clientOrderId,
  reduceOnly: false,
});

/** Books an event of an order the plan approved (a ledger books events of approved orders only). */
function booked(ledger: PlanLedger, event: OrderEvent, at: number): void {
  const { venue, inst, side, size } = event;
  if (!ledger.orders.has(event.clientOrderId as string))
    approve(
      ledger,
      { plan: 'p', venue, inst, side, size, type: 'market', clientOrderId: event.clientOrderId as string, reduceOnly: false },
      at,
    );
  expect(ledger.applyEvent(event, at)).toBe(true);
}

describe('the plan ledger', () => {
  it('books no event of an order it never approved: a forged fill moves nothing', () => {
    const ledger = new PlanLedger('p');
    expect(ledger.applyEvent(fill('forged1', 'buy', 5000, 0.0001, 0), NOW)).toBe(false);
    expect(ledger.applyEvent({ ...fill('x', 'buy', 1, 40_000, 0), clientOrderId: undefined }, NOW)).toBe(false);
    expect(ledger.position(SWAP).qty).toBe(0);
    expect(ledger.fills).toEqual([]);
    expect(ledger.orders.size).toBe(0);
  });

  it('books an approval only behind its own approving verdict, also when the approval is read first', () => {
    const ledger = new PlanLedger('p');
    // A forged approval: no verdict ever comes, nothing opens.
    expect(ledger.recordApproval(marketOrder('forged', 'buy', 0.1), NOW)).toBe(false);
    expect(ledger.openOrders()).toEqual([]);
    // The guard stores verdict and approval together; read in the other order, the approval waits.
    expect(ledger.recordApproval(marketOrder('early', 'buy', 1), NOW)).toBe(false);
    ledger.recordDecision('intent-early', approvingVerdict(marketOrder('early', 'buy', 1)), NOW);
    expect(ledger.openOrders().map((o) => o.clientOrderId)).toEqual(['early']);
    // An approval whose terms differ from its verdict, or behind a deny, is not booked.
    ledger.recordDecision('intent-big', approvingVerdict(marketOrder('big', 'buy', 1)), NOW);
    expect(ledger.recordApproval(marketOrder('big', 'buy', 50), NOW)).toBe(false);
    ledger.recordDecision(
      'intent-denied',
      { ...approvingVerdict(marketOrder('denied', 'sell', 1)), decision: 'deny', reason: 'MAX_NOTIONAL' },
      NOW,
    );
    expect(ledger.recordApproval(marketOrder('denied', 'sell', 1), NOW)).toBe(false);
    expect(ledger.openOrders().map((o) => o.clientOrderId)).toEqual(['early']);
  });

  it('keeps an approval that waits for its verdict across a books snapshot', () => {
    const ledger = new PlanLedger('p');
    ledger.recordApproval(marketOrder('early', 'buy', 1), NOW);
    const restored = PlanLedger.fromSnapshot(ledgerSnapshotSchema.parse(JSON.parse(JSON.stringify(ledger.toSnapshot()))));
    expect(restored.openOrders()).toEqual([]);
    restored.recordDecision('intent-early', approvingVerdict(marketOrder('early', 'buy', 1)), NOW);
    expect(restored.openOrders().map((o) => o.clientOrderId)).toEqual(['early']);
  });

  it('books fills by cumulative size (a repeated event adds nothing) and realises PnL with the contract value', () => {
    const ledger = new PlanLedger('p');
    approve(ledger, marketOrder('a', 'buy', 2), NOW);
    expect(ledger.openOrders()).toHaveLength(1);
    booked(ledger, fill('a', 'buy', 2, 40_000, 0.8), NOW);
    booked(ledger, fill('a', 'buy', 2, 40_000, 0.8), NOW);
    expect(ledger.position(SWAP)).toMatchObject({ qty: 2, avgPrice: 40_000 });
    expect(ledger.openOrders()).toEqual([]);
    booked(ledger, fill('b', 'sell', 3, 40_500, 1.2), NOW);
    const v = ledger.valuation(NOW, 10_000, () => ({ price: 40_500, contractValue: 0.01 }));
    // 2 contracts × 0.01 BTC × 500 up, and a short of 1 opened at 40,500.
    expect(v).toMatchObject({ realized: 10, fees: 2, unrealized: 0, equity: 10_008, lossStreak: 0 });
    expect(ledger.position(SWAP)).toMatchObject({ qty: -1, avgPrice: 40_500 });
  });

  it('counts today’s loss with open losses but not open gains, a losing streak, and the drawdown from the peak', () => {
    const ledger = new PlanLedger('p');
    booked(ledger, fill('a', 'buy', 1, 40_000, 0.4, { receivedAt: NOW - 86_400_000 }), NOW - 86_400_000);
    booked(ledger, fill('b', 'sell', 1, 41_000, 0.4, { receivedAt: NOW - 86_400_000 }), NOW - 86_400_000);
    booked(ledger, fill('c', 'buy', 1, 41_000, 0.4), NOW);
    booked(ledger, fill('d', 'sell', 1, 40_000, 0.4), NOW);
    booked(ledger, fill('e', 'buy', 2, 40_000, 0.8), NOW);
    const down = ledger.valuation(NOW, 100, () => ({ price: 39_000, contractValue: 0.01 }));
    expect(down).toMatchObject({ lossStreak: 1, lastLossAt: NOW });
    // Today: the losing round trip (−10 and two fees) and the open loss of the new long (−20).
    expect('missing' in down ? 0 : down.dailyPnl).toBeCloseTo(-10 - 0.8 - 0.8 - 20, 9);
    expect('missing' in down ? 0 : down.peakEquity).toBeCloseTo(109.2, 9);
    const up = ledger.valuation(NOW, 100, () => ({ price: 41_000, contractValue: 0.01 }));
    expect('missing' in up ? 0 : up.dailyPnl).toBeCloseTo(-11.6, 9);
    expect(ledger.valuation(NOW, 100, () => ({ price: 41_000 }))).toEqual({ missing: SWAP });
  });

  it('converts a spot fee charged in the base currency to the quote currency', () => {
    const ledger = new PlanLedger('p');
    booked(
      ledger,
      { ...fill('s', 'buy', 0.5, 40_000, 0.0005), inst: 'BTC-USDT', fill: { price: 40_000, size: 0.5, fee: 0.0005, feeCcy: 'BTC' } },
      NOW,
    );
    expect(ledger.fills[0]?.fee).toBe(20);
  });
});

describe('decisions', () => {
  it('approves with the size and price rounded, and sends a reducing plan’s orders reduce-only', () => {
    expect(decide(intent({ size: 1.239, type: 'limit', price: 40_010.07 }))).toMatchObject({
      decision: 'approve',
      reason: RiskReason.Ok,
      size: 1.23,
      price: 40_010,
      reduceOnly: false,
    });
    const ledger = new PlanLedger('p');
    booked(ledger, fill('a', 'buy', 2, 40_000, 0), NOW);
    const reducing = applyTradingCommand(initialControl('active', 0), 'reduce', 't', '', 0);
    expect(decide(intent({ side: 'sell' }), ledger, { control: reducing })).toMatchObject({ decision: 'approve', reduceOnly: true });
    expect(decide(intent({ side: 'sell', size: 3 }), ledger, { control: reducing })).toMatchObject({ reason: RiskReason.Reducing });
  });

  it("denies new risk under the venue's minimum notional, with the contract value, and lets a closing order through", () => {
    const floored = { instrument: { ...INSTRUMENT, minNotional: 100 } };
    // 0.02 contracts × 0.01 BTC × 40,000 = 8 USDT: above the minimum size, below the notional floor.
    expect(decide(intent({ size: 0.02 }), undefined, floored)).toMatchObject({
      decision: 'deny',
      reason: RiskReason.NotionalBelowMinimum,
      limit: 100,
      value: '8',
    });
    // 0.25 contracts: 100 USDT, exactly the floor.
    expect(decide(intent({ size: 0.25 }), undefined, floored)).toMatchObject({ decision: 'approve' });
    const ledger = new PlanLedger('p');
    booked(ledger, fill('a', 'buy', 0.02, 40_000, 0), NOW);
    expect(decide(intent({ side: 'sell', size: 0.02 }), ledger, floored)).toMatchObject({ decision: 'approve' });
    // Without a floor (OKX) the same small order passes.
    expect(decide(intent({ size: 0.02 }))).toMatchObject({ decision: 'approve' });
  });

  it('lets reducing orders through the loss limits and the skill gate, but not new risk', () => {
    const ledger = new PlanLedger('p');
    booked(ledger, fill('a', 'buy', 2, 40_000, 150), NOW);
    const untested = { forecast: { tradeable: false, reason: 'warming up' } };
    expect(decide(intent({ side: 'sell', size: 1 }), ledger, untested)).toMatchObject({ decision: 'approve' });
    expect(decide(intent({ size: 1 }), ledger, untested)).toMatchObject({ reason: RiskReason.DailyLoss, limit: 100, value: '150' });
  });

  it('refuses to value a book whose instrument lost its contract value rather than skip the loss limits', () => {
    const ledger = new PlanLedger('p');
    booked(ledger, fill('a', 'buy', 1, 40_000, 0, { inst: 'ETH-USDT-SWAP' }), NOW);
    expect(
      decide(intent(), ledger, { quote: (inst) => ({ price: 40_000, ...(inst === SWAP ? { contractValue: 0.01 } : {}) }) }),
    ).toMatchObject({
      reason: RiskReason.InstrumentUnavailable,
      value: 'ETH-USDT-SWAP',
    });
  });
});

describe('risk.intentTtl', () => {
  it('is a duration from 1s to 30d, two bars of the plan timeframe when absent', () => {
    expect(() => orderPlan('ttl-low', { intentTtl: '0s' })).toThrow(/intentTtl/);
    expect(() => orderPlan('ttl-high', { intentTtl: '31d' })).toThrow(/intentTtl/);
    expect(() => orderPlan('ttl-word', { intentTtl: 'soon' })).toThrow(/intentTtl/);
    expect(intentTtlMs(orderPlan('ttl-ok', { intentTtl: '45s' }).spec.risk, '1m')).toBe(45_000);
    expect(intentTtlMs(orderPlan('ttl-default', {}, { tf: '5m' }).spec.risk, '5m')).toBe(600_000);
  });

  it('denies an intent older than the TTL or further ahead than a bar and the tolerance, and judges the rest', () => {
    const at = { now: NOW, marketNow: NOW, futureToleranceMs: 5000, tf: '1m' };
    expect(decide(intent(), undefined, { ...at, eventTime: NOW - 120_000 })).toMatchObject({ decision: 'approve' });
    expect(decide(intent(), undefined, { ...at, eventTime: NOW - 120_001 })).toMatchObject({
      reason: RiskReason.IntentExpired,
      limit: 120_000,
    });
    expect(decide(intent(), undefined, { ...at, eventTime: NOW + 65_000 })).toMatchObject({ decision: 'approve' });
    expect(decide(intent(), undefined, { ...at, eventTime: NOW + 65_001 })).toMatchObject({ reason: RiskReason.FutureTime, limit: 65_000 });
    // Before a replay's first candle there is no clock to hold the intent to (NO_MARKET_DATA decides then).
    expect(decide(intent(), undefined, { ...at, marketNow: undefined, eventTime: NOW + 1e12 })).toMatchObject({ decision: 'approve' });
  });
});
