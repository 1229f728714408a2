import {
  ApprovedOrderContract,
  CancelVerdictContract,
  OrderEventContract,
  OrderVerdictContract,
  parseSubject,
  ReconcileContract,
} from '@kokex/core';
import { PlanLedger } from './ledger.js';

/**
 * Every plan's ledger, fed with stored ORDERS messages: verdicts, approvals, cancel verdicts and
 * venue events (intents and cancel requests carry nothing a book needs; a cancel's effect arrives
 * as the venue's `canceled` event). The guard keeps one for its decisions; `kokex orders`
 * builds one to print a plan's book.
 */
export class PlanBooks {
  readonly ledgers = new Map<string, PlanLedger>();
  /** Messages that did not decode (another schema version): counted, never fatal. */
  undecodable = 0;

  ledgerOf(plan: string): PlanLedger {
    let ledger = this.ledgers.get(plan);
    if (!ledger) {
      ledger = new PlanLedger(plan);
      this.ledgers.set(plan, ledger);
    }
    return ledger;
  }

  /** Whether any plan decided an intent with this client order id. */
  used(clientOrderId: string): boolean {
    for (const ledger of this.ledgers.values()) if (ledger.decided.has(clientOrderId)) return true;
    return false;
  }

  apply(subj: string, data: Uint8Array): void {
    try {
      const family = parseSubject(subj).family;
      if (family === 'orderVerdict') {
        const env = OrderVerdictContract.decode(data);
        this.ledgerOf(env.data.plan).recordDecision(env.causationId ?? env.id, env.data, env.eventTime);
      } else if (family === 'cancelVerdict') {
        const env = CancelVerdictContract.decode(data);
        this.ledgerOf(env.data.plan).recordCancel(env.causationId ?? env.id, env.data, env.eventTime);
      } else if (family === 'orderApproved') {
        const env = ApprovedOrderContract.decode(data);
        this.ledgerOf(env.data.plan).recordApproval(env.data, env.eventTime);
      } else if (family === 'orderReconcile') {
        // The executor's comparison with the venue: the venue's position replaces the book's.
        const r = ReconcileContract.decode(data).data;
        this.ledgerOf(r.plan).applyReconcile(r);
      } else if (family === 'orderEvent') {
        const env = OrderEventContract.decode(data);
        const event = env.data;
        const id = event.clientOrderId;
        // Events of orders the guard approved carry the plan; others are matched by client order id.
        const ledger = event.plan
          ? this.ledgerOf(event.plan)
          : [...this.ledgers.values()].find((l) => id !== undefined && l.orders.has(id));
        // Market time: what the executor says the event speaks for (the venue's time or its cause's).
        ledger?.applyEvent(event, env.eventTime);
      }
    } catch {
      this.undecodable++;
    }
  }
}
