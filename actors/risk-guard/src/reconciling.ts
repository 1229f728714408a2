import type { PlanLedger } from './ledger.js';
import { RiskReason } from './reasons.js';

/** What the gate needs of a plan: its instruments and its mode. */
export interface ReconcilingPlan {
  instruments: readonly string[];
  mode: string;
}

/**
 * The venue is the truth: until the executor has compared it with ORDERS (`order.reconcile`,
 * status `reconciled`) for every instrument of the plan, new risk is denied `RECONCILING`. Cancels
 * and reduce-only orders still pass. Plans on a real venue (`demo`, `live`) wait for a first
 * reconciliation even before any executor announced one; on the simulator and the paper venue the
 * gate holds once an executor said it is reconciling (`status: reconciling` or `failed`), so a
 * guard running without an executor (tests, a replay) is not held up.
 */
export function reconcilingDenial(
  ledger: PlanLedger,
  plan: ReconcilingPlan,
  reduces: boolean,
): { decision: 'deny'; reason: string; rule: string; message: string; value: string } | undefined {
  if (reduces) return undefined;
  const required = plan.mode === 'demo' || plan.mode === 'live';
  for (const inst of plan.instruments) {
    const r = ledger.reconciliation.get(inst);
    if (r?.status === 'reconciled' || (!r && !required)) continue;
    const state = r ? r.status : 'never reconciled';
    return {
      decision: 'deny',
      reason: RiskReason.Reconciling,
      rule: 'reconciliation',
      value: state,
      message: `${inst}: the venue and ORDERS are being compared (${state}); only cancels and reduce-only orders pass until the executor's reconciliation succeeds`,
    };
  }
  return undefined;
}
