import {
  ApprovedOrderContract,
  type BooksSnapshot,
  type Bus,
  CancelRequestContract,
  CancelVerdictContract,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  ReconcileContract,
  seededRandom,
  subject,
} from '@kokex/core';
import type { PlanBooks } from '../src/index.js';
import type { PlanLedger } from '../src/ledger.js';

/**
 * A generated ORDERS history as the order path writes it, published straight to the stream with
 * the guard's and the executor's sources: per step an intent and its verdict, and for approved
 * ones the venue's story: filled at once, partly filled then cancelled (with the cancel request
 * and its verdict), rejected, or left resting; some denials, a denied cancel, a reconciliation
 * now and then, and a forged fill the books must refuse. Two plans, two instruments, fees, prices
 * that wander (so trades win and lose), market time 7 s a step (a day passes at step ~12,300).
 */
export const GUARD = 'risk-guard-0badc0de';
export const EXECUTOR = 'executor-0badc0de';
export const PLANS = ['alpha', 'beta'] as const;
export const INSTS = ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'] as const;
export const T0 = Date.UTC(2026, 0, 5, 20);
const STEP_MS = 7_000;

export interface HistoryCursor {
  step: number;
  rand: () => number;
  price: Record<string, number>;
}

export function historyCursor(seed = 12): HistoryCursor {
  return { step: 0, rand: seededRandom(seed), price: { 'BTC-USDT-SWAP': 43_000, 'ETH-USDT-SWAP': 2_300 } };
}

/**
 * Publishes `steps` more steps of the history; returns the market time of the last. `requests:
 * false` leaves out the intents and cancel requests (nothing for the books), for a running guard,
 * whose durables would otherwise decide them all again.
 */
export async function publishHistory(
  bus: Bus,
  cursor: HistoryCursor,
  steps: number,
  options: { requests?: boolean } = {},
): Promise<number> {
  const requests = options.requests ?? true;
  let at = T0;
  for (let n = 0; n < steps; n++) {
    const i = cursor.step++;
    const r = cursor.rand;
    at = T0 + i * STEP_MS;
    const plan = PLANS[i % 2] as string;
    const inst = INSTS[Math.floor(r() * 2)] as string;
    cursor.price[inst] = Number(((cursor.price[inst] as number) * (1 + (r() - 0.5) * 0.01)).toFixed(2));
    const price = cursor.price[inst] as number;
    const side = r() < 0.5 ? ('buy' as const) : ('sell' as const);
    const clientOrderId = `h${i}`;
    const meta = (id: string, source: string, extra: object = {}) => ({ id, source, time: at, eventTime: at, ...extra });
    const limit = r() < 0.5;
    const size = 1 + Math.floor(r() * 3);
    const intent = {
      plan,
      venue: 'okx',
      inst,
      side,
      size,
      type: limit ? ('limit' as const) : ('market' as const),
      ...(limit ? { price } : {}),
      clientOrderId,
      origin: { kind: 'manual' as const, who: 'test', why: 'history' },
      basis: { kind: 'manual' as const },
    };
    // The intent's envelope id is its message id, which the verdict names as its cause.
    const envelope = { id: `intent:${clientOrderId}` };
    if (requests)
      await bus.publish(OrderIntentContract, subject('orderIntent', { plan, inst }), intent, meta(envelope.id, 'agent-0badc0de'));
    const deny = r() < 0.15;
    const verdict = {
      plan,
      inst,
      clientOrderId,
      side,
      decision: deny ? ('deny' as const) : ('approve' as const),
      reason: deny ? 'MAX_NOTIONAL' : 'OK',
      rule: deny ? 'maxNotional' : 'all',
      message: deny ? 'too large' : 'ok',
      ...(deny ? { limit: 1000, value: size * price } : { size }),
      ...(limit && !deny ? { price } : {}),
    };
    await bus.publish(
      OrderVerdictContract,
      subject('orderVerdict', { plan, inst }),
      verdict,
      meta(`verdict:${envelope.id}`, GUARD, { causationId: envelope.id }),
    );
    if (deny) continue;
    const approved = {
      plan,
      venue: 'okx',
      inst,
      side,
      size,
      type: intent.type,
      ...(limit ? { price } : {}),
      clientOrderId,
      reduceOnly: false,
    };
    await bus.publish(
      ApprovedOrderContract,
      subject('orderApproved', { venue: 'okx', inst }),
      approved,
      meta(`approved:${clientOrderId}`, GUARD),
    );
    const event = async (kind: 'accepted' | 'partially_filled' | 'filled' | 'canceled' | 'rejected', filledSize: number, fill?: number) => {
      await bus.publish(
        OrderEventContract,
        subject('orderEvent', { venue: 'okx', inst }),
        {
          venue: 'okx',
          inst,
          plan,
          clientOrderId,
          venueOrderId: `v${i}`,
          kind,
          side,
          type: intent.type,
          size,
          filledSize,
          ...(fill
            ? { avgPrice: price, fill: { price, size: fill, fee: Number((fill * price * 0.0005).toFixed(6)), tradeId: `t${i}${kind}` } }
            : {}),
          ...(kind === 'rejected' ? { reason: '51008 insufficient margin' } : {}),
          venueTs: at,
          receivedAt: at,
        },
        meta(`okx:${clientOrderId}:${kind}`, EXECUTOR),
      );
    };
    const story = r();
    if (story < 0.1) {
      await event('rejected', 0);
      continue;
    }
    await event('accepted', 0);
    if (story < 0.55) await event('filled', size, size);
    else if (story < 0.8 && size > 1) {
      await event('partially_filled', 1, 1);
      const cancelId = `c${i}`;
      const request = { plan, venue: 'okx', inst, cancelId, clientOrderId, origin: intent.origin, basis: intent.basis };
      const req = { id: `cancelrequest:${cancelId}` };
      if (requests)
        await bus.publish(CancelRequestContract, subject('orderCancel', { plan, inst }), request, meta(req.id, 'agent-0badc0de'));
      await bus.publish(
        CancelVerdictContract,
        subject('cancelVerdict', { plan, inst }),
        { plan, inst, cancelId, clientOrderId, decision: 'approve', reason: 'OK', rule: 'cancel', message: 'ok' },
        meta(`cancelverdict:${cancelId}`, GUARD, { causationId: req.id }),
      );
      await event('canceled', 1);
    } else if (story < 0.85) {
      // A cancel of an order that is not the plan's: denied, the order rests on.
      const cancelId = `d${i}`;
      await bus.publish(
        CancelVerdictContract,
        subject('cancelVerdict', { plan, inst }),
        {
          plan,
          inst,
          cancelId,
          clientOrderId: `nope${i}`,
          decision: 'deny',
          reason: 'CANCEL_TARGET_UNKNOWN',
          rule: 'cancel',
          message: 'unknown',
        },
        meta(`cancelverdict:${cancelId}`, GUARD),
      );
    }
    if (i % 97 === 13) {
      // A forged fill from someone who is not the executor: refused by the books.
      await bus.publish(
        OrderEventContract,
        subject('orderEvent', { venue: 'okx', inst }),
        {
          venue: 'okx',
          inst,
          plan,
          clientOrderId,
          kind: 'filled',
          side,
          size: 100,
          filledSize: 100,
          fill: { price: 1, size: 100, fee: 0 },
          venueTs: at,
          receivedAt: at,
        },
        meta(`forged:${i}`, 'agent-0badc0de'),
      );
    }
    if (i % 211 === 50) {
      await bus.publish(
        ReconcileContract,
        subject('orderReconcile', { plan, inst }),
        { plan, venue: 'okx', inst, status: 'reconciled', position: { size: 2, avgPrice: price }, run: `${EXECUTOR}:${i}` },
        meta(`reconcile:${i}`, EXECUTOR),
      );
    }
  }
  return at;
}

/** What the checks read of a ledger at market time `now`: positions, open orders, daily loss and the rest of the valuation, rate windows. */
export function checkedFigures(ledger: PlanLedger, now: number) {
  const quote = (inst: string) => ({ price: inst.startsWith('BTC') ? 43_000 : 2_300, contractValue: inst.startsWith('BTC') ? 0.01 : 0.1 });
  return {
    positions: Object.fromEntries([...ledger.legs].map(([inst, l]) => [inst, { qty: l.qty, avgPrice: l.avgPrice }])),
    openOrders: ledger.openOrders().map((o) => ({ id: o.clientOrderId, state: o.state, filled: o.filled })),
    openSize: INSTS.map((inst) => [ledger.openSize(inst, 'buy'), ledger.openSize(inst, 'sell'), ledger.openSize(inst, 'sell', true)]),
    valuation: ledger.valuation(now, 10_000, quote),
    rates: { minute: ledger.approvalsSince(now - 60_000), hour: ledger.approvalsSince(now - 3_600_000) },
    lastApprovalAt: ledger.lastApprovalAt,
    decided: ledger.decided.size,
    cancels: ledger.cancels.size,
    fills: ledger.fills.length,
    reconciliation: [...ledger.reconciliation],
  };
}

/** Every plan's checked figures, and the whole books as data. */
export function booksFigures(books: PlanBooks, now: number) {
  return {
    plans: Object.fromEntries([...books.ledgers].map(([plan, ledger]) => [plan, checkedFigures(ledger, now)])),
    refused: { ...books.refused },
    data: books.toSnapshot() as Pick<BooksSnapshot, 'ledgers' | 'refused'>,
  };
}
