import { type ControlRecord } from '@kokex/core';
import type { GuardPlan } from './config.js';
import type { InstrumentQuote, PlanLedger } from './ledger.js';

/** A plan's book in a few numbers: the guard's status detail and what `kokex orders` prints. */
export interface PlanSummary {
  plan: string;
  state: string;
  killSwitch: boolean;
  positions: Array<{ inst: string; qty: number; avgPrice: number }>;
  openOrders: number;
  approvedLastMinute: number;
  approvedLastHour: number;
  decided: number;
  fills: number;
  /** Quote currency; absent while an instrument cannot be valued. */
  pnl?: { daily: number; realized: number; fees: number; unrealized: number; equity: number; drawdown: number; lossStreak: number };
  valuationMissing?: string;
}

const r = (n: number) => Number(n.toFixed(6));

export function planSummary(
  plan: Pick<GuardPlan, 'plan' | 'capital' | 'risk'>,
  ledger: PlanLedger,
  control: ControlRecord | undefined,
  now: number,
  quote: InstrumentQuote,
): PlanSummary {
  const value = ledger.valuation(now, plan.capital, quote);
  return {
    plan: plan.plan,
    state: control?.state ?? plan.risk.initialState,
    killSwitch: control?.killSwitch ?? false,
    positions: [...ledger.legs].filter(([, l]) => l.qty !== 0).map(([inst, l]) => ({ inst, qty: l.qty, avgPrice: r(l.avgPrice) })),
    openOrders: ledger.openOrders().length,
    approvedLastMinute: ledger.approvalsSince(now - 60_000),
    approvedLastHour: ledger.approvalsSince(now - 3_600_000),
    decided: ledger.decided.size,
    fills: ledger.fills.length,
    ...('missing' in value
      ? { valuationMissing: value.missing }
      : {
          pnl: {
            daily: r(value.dailyPnl),
            realized: r(value.realized),
            fees: r(value.fees),
            unrealized: r(value.unrealized),
            equity: r(value.equity),
            drawdown: r(value.drawdown),
            lossStreak: value.lossStreak,
          },
        }),
  };
}
